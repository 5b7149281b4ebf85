"""The image's inputs: its tag, the wheel its build context holds, podman's absence, RECORD checks.

The live test is `nox -s image` itself (it builds and runs the image); these stay offline.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from forkkit.cli import main
from forkkit.errors import ForkKitError
from forkkit.image import (
    CONTAINERFILE,
    CONTEXT_MTIME,
    WHEEL_DIR,
    image_tag,
    parse_record,
    plan,
    prepare_context,
    record_mismatches,
    upstream_image,
    wheel_record,
)
from forkkit.image_base import apt_sources
from forkkit.pin import Pin, load_pin
from forkkit.podman import CONF_ENV, containers_conf_text, podman_env, podman_missing
from forkkit.project import Project
from forkkit.release import Release, load_release, save_release
from tests.toolkit.fakes import make_project

REPO = Path(__file__).resolve().parents[2]
PIN = Pin("litellm", "1.2.3", "index", sha256="0" * 64, artifact="litellm-1.2.3.tar.gz")


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = make_project(tmp_path / "project", PIN)
    save_release(Release("fork", 7, "0" * 64), project.release_file)
    return project


def make_wheel(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def fork_wheel(project: Project, version: str = "1.2.3+fork.7", payload: bytes = b"x=1\n") -> Path:
    name = f"litellm-{version}-py3-none-any.whl"
    files = {"litellm/__init__.py": payload, f"litellm-{version}.dist-info/RECORD": b""}
    return make_wheel(project.dist_dir / name, files)


def test_the_tag_is_the_pin_and_release_with_a_dash(project: Project) -> None:
    info = plan(project)
    assert info["tag"] == "1.2.3-fork.7"
    assert info["version"] == "1.2.3+fork.7"
    assert info["upstream_image"] == "ghcr.io/berriai/litellm:main-v1.2.3"


def test_the_tag_moves_with_the_release(project: Project) -> None:
    save_release(Release("acme", 12, "0" * 64), project.release_file)
    assert plan(project)["tag"] == "1.2.3-acme.12"


def test_the_repository_s_own_tag_is_the_wheel_version_dashed() -> None:
    project = Project(REPO)
    pin, release = load_pin(project.pin_file), load_release(project.release_file)
    assert image_tag(pin, release) == f"{pin.version}-{release.local_version()}"
    assert "+" not in image_tag(pin, release)  # image tags cannot hold a plus


def test_the_context_holds_the_built_wheel_byte_for_byte(project: Project) -> None:
    wheel = fork_wheel(project, payload=b"patched = True\n")
    stale = project.work_dir / "image" / "context" / WHEEL_DIR / "litellm-1.2.3+fork.6-x.whl"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an earlier build")
    context = prepare_context(project, wheel)
    copied = list((context / WHEEL_DIR).iterdir())
    assert [p.name for p in copied] == [wheel.name]  # the earlier wheel is gone
    assert copied[0].read_bytes() == wheel.read_bytes()
    assert copied[0].stat().st_mtime == CONTEXT_MTIME  # same bytes, same cached layer


def test_a_wheel_of_another_release_is_refused(project: Project) -> None:
    wheel = fork_wheel(project, version="1.2.3+fork.6")
    with pytest.raises(ForkKitError, match=r"is 1\.2\.3\+fork\.6, the pin and release say 1\.2\.3"):
        prepare_context(project, wheel)


def test_a_missing_wheel_says_to_build(project: Project) -> None:
    with pytest.raises(ForkKitError, match="run `nox -s build` first"):
        prepare_context(project, project.dist_dir / "litellm-1.2.3+fork.7-py3-none-any.whl")


def test_the_containerfile_copies_only_the_context_s_wheel_folder() -> None:
    text = (REPO / CONTAINERFILE).read_text()
    copies = re.findall(r"^COPY\s+(\S+)\s", text, flags=re.MULTILINE)
    assert copies == [f"{WHEEL_DIR}/"]
    assert "--no-index" in text and "--no-deps" in text  # pip installs that wheel and nothing else


def test_the_containerfile_defaults_to_upstream_s_image_for_the_pin() -> None:
    project = Project(REPO)
    default = re.search(r"^ARG BASE=(\S+)$", (REPO / CONTAINERFILE).read_text(), re.MULTILINE)
    assert default is not None
    assert default.group(1) == upstream_image(load_pin(project.pin_file)), (
        "the Containerfile's ARG BASE must name upstream's image for upstream/pin.toml"
    )


def test_the_containerfile_runs_unprivileged_with_a_healthcheck() -> None:
    text = (REPO / CONTAINERFILE).read_text()
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0", "0:0")
    assert re.search(r"^HEALTHCHECK .*/health/liveliness", text, flags=re.MULTILINE | re.DOTALL)
    assert re.search(r'^CMD \["--port", "4000"\]$', text, flags=re.MULTILINE)


def test_installed_record_must_list_every_wheel_file_with_its_hash(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "litellm-1.0-py3-none-any.whl",
        {"litellm/a.py": b"a", "litellm/b.py": b"b", "litellm-1.0.dist-info/RECORD": b""},
    )
    files = wheel_record(wheel)
    assert set(files) == {"litellm/a.py", "litellm/b.py"}
    record = "".join(f"{path},{digest},1\n" for path, digest in files.items())
    installed = parse_record(record + "litellm/a.cpython-311.pyc,,\n")
    assert record_mismatches(files, installed) == []
    edited = record.replace(files["litellm/b.py"], files["litellm/a.py"])
    assert record_mismatches(files, parse_record(edited)) == ["litellm/b.py"]
    assert record_mismatches(files, parse_record(f"litellm/a.py,{files['litellm/a.py']},1\n")) == [
        "litellm/b.py"
    ]


def test_without_podman_the_reason_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    reason = podman_missing()
    assert reason is not None and "\n" not in reason
    assert reason.startswith("podman is not installed")


def test_without_mmdebstrap_the_local_base_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_podman = tmp_path / "bin" / "podman"
    fake_podman.parent.mkdir()
    fake_podman.write_text("#!/bin/sh\nexit 0\n")
    fake_podman.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake_podman.parent))
    assert main(["--root", str(REPO), "image-build", "--check", "--base", "some/image"]) == 0
    assert (
        json.loads(capsys.readouterr().out)["missing"] is None
    )  # a given base needs no mmdebstrap
    assert main(["--root", str(REPO), "image-build", "--check", "--local-base"]) == 0
    assert json.loads(capsys.readouterr().out)["missing"] == (
        "mmdebstrap is not installed (e.g. `apt-get install mmdebstrap`)"
    )


def test_the_local_base_needs_an_apt_sources_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORKKIT_APT_SOURCES", "/nonexistent/debian.sources")
    with pytest.raises(ForkKitError, match=r"set FORKKIT_APT_SOURCES to a sources\.list"):
        apt_sources()


def test_image_build_check_reports_missing_podman_as_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["--root", str(REPO), "image-build", "--check"]) == 0
    assert json.loads(capsys.readouterr().out)["missing"].startswith("podman is not installed")


def test_image_build_without_podman_fails_in_one_line(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = fork_wheel(project)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["--root", str(project.root), "image-build", "--wheel", str(wheel)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: podman is not installed")


def test_the_noxfile_skips_the_image_session_with_the_reason() -> None:
    source = (REPO / "noxfile.py").read_text()
    session = source[source.index("def image(") :]
    assert 'session.skip(f"image: {missing}")' in session.split("\ndef ")[0]


def test_containers_conf_sets_ulimits_and_runc_only_when_present() -> None:
    with_runc, without = containers_conf_text(True), containers_conf_text(False)
    for text in (with_runc, without):
        assert '"nofile=20000:20000", "nproc=4096:4096"' in text
        assert "http_proxy = false" in text
    assert 'runtime = "runc"' in with_runc and "runtime" not in without


def test_a_user_s_containers_conf_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONF_ENV, "/etc/mine.conf")
    assert podman_env(tmp_path)[CONF_ENV] == "/etc/mine.conf"
    assert not (tmp_path / "containers.conf").exists()
    monkeypatch.delenv(CONF_ENV)
    written = Path(podman_env(tmp_path)[CONF_ENV])
    assert written == tmp_path / "containers.conf" and "default_ulimits" in written.read_text()


def test_the_release_workflow_pushes_the_image_it_tested_on_upstream_s_base() -> None:
    text = (REPO / ".github" / "workflows" / "release.yml").read_text()
    job = text[text.index("\n  image:") :]
    build = job.index("nox -s image")
    assert "upstream_image" in job[:build]  # FORKKIT_IMAGE_BASE is upstream's image for the pin
    assert build < job.index("podman push") < job.index("actions/attest-build-provenance@")
    assert job.count("push-to-registry: true") == 2  # provenance and SBOM, stored with the image
    for permission in ("packages: write", "id-token: write", "attestations: write"):
        assert permission in job
