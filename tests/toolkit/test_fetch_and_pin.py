"""Fetching the pinned release: verified before extraction, index from the user's config."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from forkkit.apply import apply
from forkkit.checkout import pristine_repo_path
from forkkit.errors import ForkKitError
from forkkit.index import index_url
from forkkit.pin import Pin, load_pin
from forkkit.project import Project
from tests.toolkit.fakes import BASE_FILES, FakeIndex, git, make_project, make_sdist

WRONG_SHA = "0" * 64


def cache_files(project: Project) -> list[Path]:
    found = project.cache_dir.rglob("*") if project.cache_dir.exists() else []
    return [p for p in found if p.is_file() and p.name != ".lock"]


def test_apply_materialises_a_tagged_pristine_commit(project: Project, release: Pin) -> None:
    checkout = apply(project).checkout
    assert git(checkout, "tag", "--list").split() == ["upstream/1.0"]
    assert git(checkout, "rev-parse", "--abbrev-ref", "HEAD").strip() == "patched"
    assert (checkout / "demo/headers.py").read_text() == BASE_FILES["demo/headers.py"]
    assert release.sha256 in git(checkout, "log", "-1", "--format=%B", "upstream/1.0")


def test_wrong_pinned_sha256_is_refused_before_download(tmp_path: Path, release: Pin) -> None:
    project = make_project(tmp_path / "project", replace(release, sha256=WRONG_SHA))
    with pytest.raises(ForkKitError, match=f"sha256 mismatch.*pinned {WRONG_SHA}") as failure:
        apply(project)
    assert "\n" not in str(failure.value)
    assert cache_files(project) == []
    assert not project.checkout_dir.exists()


def test_tampered_download_is_discarded_and_nothing_extracted(
    tmp_path: Path, index: FakeIndex, release: Pin
) -> None:
    """The index lists the pinned hash but serves other bytes (a compromised mirror)."""
    tampered = make_sdist("demo", "1.0", {**BASE_FILES, "demo/evil.py": "boom\n"})
    index.routes["/files/demo-1.0.tar.gz"] = ("application/octet-stream", tampered)
    project = make_project(tmp_path / "project", release)
    with pytest.raises(ForkKitError, match=r"downloaded [0-9a-f]{64}; the download was discarded"):
        apply(project)
    assert cache_files(project) == []
    assert not pristine_repo_path(project.cache_dir, release).exists()


def test_unknown_version_names_the_newest(tmp_path: Path, release: Pin) -> None:
    project = make_project(tmp_path / "project", replace(release, version="9.9", artifact=""))
    with pytest.raises(ForkKitError, match=r"demo 9\.9 has no sdist .* \(newest there: 1\.0\)"):
        apply(project)


def test_unreachable_index_is_one_line(tmp_path: Path, release: Pin, monkeypatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("PIP_INDEX_URL", f"http://user:secret@127.0.0.1:{closed_port}/simple/")
    project = make_project(tmp_path / "project", release)
    with pytest.raises(ForkKitError, match="cannot reach the package index") as failure:
        apply(project)
    assert "secret" not in str(failure.value)
    assert cache_files(project) == []


def test_warm_cache_needs_no_index(tmp_path: Path, project: Project, monkeypatch) -> None:
    apply(project)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")
    other = make_project(tmp_path / "other", load_pin(project.pin_file))
    monkeypatch.setenv("FORKKIT_CHECKOUT", str(tmp_path / "other-checkout"))
    assert apply(other).applied is True


def test_index_url_priority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nindex-url = http://from-pip-config.invalid/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    assert index_url() == "http://from-pip-config.invalid/simple"
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://from-uv-default.invalid/simple")
    assert index_url() == "http://from-uv-default.invalid/simple"
    monkeypatch.setenv("PIP_INDEX_URL", "http://from-pip-env.invalid/simple")
    assert index_url() == "http://from-pip-env.invalid/simple"


def test_default_index_is_pips_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from pip._internal.models.index import PyPI

    assert index_url() == PyPI.simple_url


def make_bare_release(tmp_path: Path) -> tuple[Path, str]:
    source = tmp_path / "upstream-src"
    for path, text in BASE_FILES.items():
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).write_text(text)
    git(tmp_path, "init", "--quiet", "-b", "main", str(source))
    git(source, "add", ".")
    git(source, "commit", "--quiet", "-m", "release 1.0")
    git(source, "tag", "v1.0")
    bare = tmp_path / "upstream.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(source), str(bare))
    return bare, git(source, "rev-parse", "v1.0").strip()


def test_git_source_from_a_local_bare_repository(tmp_path: Path) -> None:
    bare, commit = make_bare_release(tmp_path)
    pin = Pin("demo", "1.0", "git", url=str(bare), tag="v1.0", commit=commit)
    checkout = apply(make_project(tmp_path / "project", pin)).checkout
    assert (checkout / "demo/headers.py").read_text() == BASE_FILES["demo/headers.py"]
    assert git(checkout, "tag", "--list").split() == ["upstream/1.0"]


def test_git_source_with_moved_tag_is_refused(tmp_path: Path) -> None:
    bare, _ = make_bare_release(tmp_path)
    pin = Pin("demo", "1.0", "git", url=str(bare), tag="v1.0", commit="1" * 40)
    with pytest.raises(ForkKitError, match=r"tag v1.0 of .* is commit [0-9a-f]{40}, pinned 1111"):
        apply(make_project(tmp_path / "project", pin))


def test_cli_reports_bad_input_in_one_line(tmp_path: Path, release: Pin) -> None:
    project = make_project(tmp_path / "project", replace(release, sha256=WRONG_SHA))
    done = subprocess.run(
        [sys.executable, "-m", "forkkit", "--root", str(project.root), "apply"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: sha256 mismatch")


def test_malformed_pin_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "pin.toml").write_text('[upstream]\nproject = "demo"\nversion = "1.0"\n')
    with pytest.raises(ForkKitError, match=r"\[upstream\] needs source"):
        load_pin(tmp_path / "pin.toml")
