from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from forkkit.pin import Pin
from forkkit.project import Project
from tests.toolkit.ci_scripts import FAKE
from tests.toolkit.fakes import BASE_FILES, FakeIndex, make_project, make_sdist, serve_index


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own cache and checkout, and no user git or pip configuration."""
    monkeypatch.setenv("FORKKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FORKKIT_CHECKOUT", str(tmp_path / "project" / ".work" / "demo"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("FORKKIT_TIMEOUT", "5")
    for name in ("PIP_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIndex]:
    with serve_index() as served:
        monkeypatch.setenv("PIP_INDEX_URL", served.url)
        yield served


@pytest.fixture
def release(index: FakeIndex) -> Pin:
    data = make_sdist("demo", "1.0", BASE_FILES)
    sha256 = index.publish("demo", "1.0", data)
    return Pin("demo", "1.0", "index", sha256=sha256, artifact="demo-1.0.tar.gz")


@pytest.fixture
def project(tmp_path: Path, release: Pin) -> Project:
    return make_project(tmp_path / "project", release)


@pytest.fixture
def fake_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose `gh` is a fake that logs its calls (with body files) to FAKE_LOG."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    tool = bin_dir / "gh"
    tool.write_text(FAKE.format(python=sys.executable))
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}
    env.pop("GITHUB_OUTPUT", None)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["FAKE_LOG"] = str(tmp_path / "calls.jsonl")
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"] = "ci test"
        env[f"GIT_{role}_EMAIL"] = "ci@example.invalid"
    return env
