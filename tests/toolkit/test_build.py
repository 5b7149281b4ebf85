"""build over a synthetic release: what ships is upstream's wheel plus exactly the series."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from forkkit.apply import apply
from forkkit.build import build
from forkkit.digest import sha256_of
from forkkit.errors import ForkKitError
from forkkit.export import export
from forkkit.pin import Pin
from forkkit.project import Project
from forkkit.release import bump
from forkkit.series import load_series
from forkkit.wheelbuild import diff_wheels
from tests.toolkit.fakes import BASE_FILES, PATCH_MESSAGE, FakeIndex, commit_edit
from tests.toolkit.synthetic_wheels import install_into_fresh_venv, make_wheel, run_python

SHIPPED = {path: text.encode() for path, text in BASE_FILES.items() if path.startswith("demo/")}


@pytest.fixture
def upstream_wheel(tmp_path: Path, index: FakeIndex, release: Pin) -> Path:
    wheel = make_wheel(tmp_path / "upstream-wheel", "demo", "1.0", "py3-none-any", SHIPPED)
    index.publish_file("demo", wheel.name, wheel.read_bytes())
    return wheel


def patch_series(project: Project) -> Path:
    checkout = apply(project).checkout
    commit_edit(
        checkout,
        "demo/headers.py",
        "line 7\n",
        "line seven\n",
        PATCH_MESSAGE.format(subject="headers: spell out seven"),
    )
    commit_edit(
        checkout,
        "README.md",
        "demo",
        "patched demo",
        PATCH_MESSAGE.format(subject="readme: say patched"),
    )
    export(project)
    bump(project.release_file, load_series(project.series_file))
    return checkout


def test_wheel_differs_from_upstream_only_in_patched_files(
    project: Project, upstream_wheel: Path
) -> None:
    checkout = patch_series(project)
    (wheel,) = build(project)
    assert wheel.name == "demo-1.0+fork.2-py3-none-any.whl"
    assert diff_wheels(upstream_wheel, wheel) == [
        "*.dist-info/FORK_PROVENANCE.json",
        "*.dist-info/METADATA",
        "*.dist-info/RECORD",
        "demo/headers.py",
    ]
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("demo/headers.py")
        provenance = json.loads(archive.read("demo-1.0+fork.2.dist-info/FORK_PROVENANCE.json"))
    assert shipped == (checkout / "demo/headers.py").read_bytes()
    assert provenance["patched_files"] == ["demo/headers.py"]
    assert provenance["not_shipped"] == ["README.md"]
    assert provenance["upstream"]["wheel_sha256"] == sha256_of(upstream_wheel)
    assert [p["name"] for p in provenance["patches"]] == list(
        load_series(project.series_file).names
    )


def test_two_builds_are_byte_identical(project: Project, upstream_wheel: Path) -> None:
    patch_series(project)
    (first,) = build(project)
    first_sha = sha256_of(first)
    first.unlink()
    (second,) = build(project)
    assert sha256_of(second) == first_sha


def test_a_warm_build_reuses_its_wheel_and_a_changed_input_rebuilds(
    project: Project, upstream_wheel: Path
) -> None:
    checkout = patch_series(project)
    (first,) = build(project)
    written, digest = (first.stat().st_mtime_ns, first.stat().st_ino), sha256_of(first)
    (again,) = build(project)
    assert again == first and (again.stat().st_mtime_ns, again.stat().st_ino) == written
    first.write_bytes(first.read_bytes()[:-1])  # damaged in dist/: built again, not trusted
    (repaired,) = build(project)
    assert sha256_of(repaired) == digest
    commit_edit(
        checkout,
        "demo/headers.py",
        "line 8\n",
        "line eight\n",
        PATCH_MESSAGE.format(subject="headers: spell out eight"),
    )
    export(project)
    bump(project.release_file, load_series(project.series_file))
    (changed,) = build(project)
    with zipfile.ZipFile(changed) as archive:
        assert b"line eight" in archive.read("demo/headers.py")


@pytest.mark.slow
def test_installed_wheel_has_fork_version_and_series_files(
    tmp_path: Path, project: Project, upstream_wheel: Path
) -> None:
    checkout = patch_series(project)
    (wheel,) = build(project)
    python = install_into_fresh_venv(wheel, tmp_path / "venv")
    code = (
        "import importlib.metadata, importlib.util, pathlib; "
        "print(importlib.metadata.version('demo')); "
        "import hashlib; origin = importlib.util.find_spec('demo.headers').origin; "
        "print(hashlib.sha256(pathlib.Path(origin).read_bytes()).hexdigest())"
    )
    version, installed_sha256 = run_python(python, code).split()
    assert version == "1.0+fork.2"
    assert installed_sha256 == sha256_of(checkout / "demo/headers.py")


def test_unbumped_series_is_refused(project: Project, upstream_wheel: Path) -> None:
    patch_series(project)
    bump(project.release_file, load_series(project.series_file), reset=True)
    (project.patches_dir / "series").write_text("headers-spell-out-seven.patch\n")
    with pytest.raises(ForkKitError, match="series changed but release revision 1 did not move"):
        build(project)


def test_stale_checkout_is_refused(project: Project, upstream_wheel: Path) -> None:
    checkout = patch_series(project)
    commit_edit(checkout, "demo/__init__.py", "1.0", "6.6", "sneak in an unexported change")
    with pytest.raises(ForkKitError, match="not in the series"):
        build(project)
    assert not project.dist_dir.exists()


def test_tampered_upstream_wheel_is_refused(
    tmp_path: Path, project: Project, index: FakeIndex, upstream_wheel: Path
) -> None:
    patch_series(project)
    route = f"/files/{upstream_wheel.name}"
    index.routes[route] = (index.routes[route][0], index.routes[route][1] + b"\0")
    with pytest.raises(ForkKitError, match=r"sha256 mismatch .*discarded"):
        build(project)


def test_wheel_not_built_from_the_pinned_source_is_refused(
    tmp_path: Path, project: Project, index: FakeIndex
) -> None:
    drifted = {**SHIPPED, "demo/headers.py": b"not what the sdist has\n"}
    wheel = make_wheel(tmp_path / "drifted", "demo", "1.0", "py3-none-any", drifted)
    index.publish_file("demo", wheel.name, wheel.read_bytes())
    patch_series(project)
    with pytest.raises(ForkKitError, match=r"demo/headers\.py differs from the pinned source"):
        build(project)


def test_overrides_are_recorded_but_never_change_the_wheels_requirements(
    tmp_path: Path, index: FakeIndex, project: Project
) -> None:
    pins = "Requires-Dist: demo-extras==2.0 ; extra == 'proxy'\n"
    wheel = make_wheel(tmp_path / "w", "demo", "1.0", "py3-none-any", SHIPPED, headers=pins)
    index.publish_file("demo", wheel.name, wheel.read_bytes())
    (project.root / "upstream" / "overrides.txt").write_text(
        "# the index lags: it has demo-extras 1.0 only\ndemo-extras==1.0\n"
    )
    patch_series(project)
    (built,) = build(project)
    with zipfile.ZipFile(built) as archive:
        metadata = archive.read("demo-1.0+fork.2.dist-info/METADATA")
        provenance = json.loads(archive.read("demo-1.0+fork.2.dist-info/FORK_PROVENANCE.json"))
    assert pins.encode() in metadata
    assert b"demo-extras==1.0" not in metadata
    assert provenance["test_overrides"]["requirements"] == ["demo-extras==1.0"]
    assert provenance["test_overrides"]["file"] == "upstream/overrides.txt"
