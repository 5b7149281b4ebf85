"""The repository's own pin and series, built for real against the package index."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from forkkit.build import build, changed_files
from forkkit.digest import sha256_of
from forkkit.fetch import download_verified
from forkkit.index import list_files
from forkkit.pin import load_pin
from forkkit.project import Project, default_cache_dir
from forkkit.wheelbuild import diff_wheels

pytestmark = pytest.mark.network
ROOT = Path(__file__).resolve().parents[2]
USER_CACHE = default_cache_dir()  # read at import, before the autouse fixture isolates the cache


@pytest.fixture
def real_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """This repository, with a private checkout and dist but the user's real download cache."""
    monkeypatch.setenv("FORKKIT_CACHE", str(USER_CACHE))
    monkeypatch.setenv("FORKKIT_CHECKOUT", str(tmp_path / "checkout"))
    monkeypatch.delenv("PIP_CONFIG_FILE")  # the user's real index configuration
    project = Project(tmp_path / "repo")
    project.root.mkdir()
    for part in ("upstream", "patches"):
        (project.root / part).symlink_to(ROOT / part)
    return project


def test_patched_wheel_differs_from_upstream_only_by_the_series(real_project: Project) -> None:
    (wheel,) = build(real_project)
    pin = load_pin(real_project.pin_file)
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith("/FORK_PROVENANCE.json"))
        upstream_name = json.loads(archive.read(name))["upstream"]["wheel"]
    upstream = next(f for f in list_files("litellm") if f.filename == upstream_name)
    assert upstream_name.startswith(f"litellm-{pin.version}-")
    original = download_verified(upstream, upstream.sha256, real_project.cache_dir)
    with zipfile.ZipFile(original) as archive:
        shipped = set(archive.namelist())
    changed = changed_files(real_project.checkout_dir, pin)
    # files the series adds to the package (e.g. a new module) ship too
    expected = sorted(
        {p for p in changed if p in shipped or p.startswith("litellm/")}
        | {f"*.dist-info/{name}" for name in ("FORK_PROVENANCE.json", "METADATA", "RECORD")}
    )
    assert diff_wheels(original, wheel) == expected
    assert any(p.startswith("litellm/") for p in expected), "the series changes no shipped file"
    assert sha256_of(original) == upstream.sha256
