"""build: the patched wheel = upstream's published wheel + the files the series changes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from packaging.tags import Tag, parse_tag, sys_tags
from packaging.utils import parse_wheel_filename

from forkkit import gitutil, wheelbuild
from forkkit.apply import apply
from forkkit.checkout import PATCHED_BRANCH
from forkkit.digest import sha256_digest, sha256_hasher, sha256_of
from forkkit.errors import ForkKitError
from forkkit.fetch import download_verified
from forkkit.index import IndexFile, list_files
from forkkit.overrides import load_overrides
from forkkit.pin import Pin, load_pin
from forkkit.pipeline import locked
from forkkit.project import Project
from forkkit.release import load_release, stale_revision
from forkkit.series import Series, load_series
from forkkit.wheelbuild import build_patched_wheel

# dist/.builds/<inputs key>: which wheel identical inputs gave, so a warm build reuses it
BUILDS_DIR = ".builds"


def build(project: Project, platforms: list[str] | None = None) -> list[Path]:
    with locked(project):  # the upstream wheel is cached next to the sdist
        return _build_locked(project, apply(project).checkout, platforms)


def _build_locked(project: Project, checkout: Path, platforms: list[str] | None) -> list[Path]:
    """apply() refused a checkout that does not match pin + series."""
    pin = load_pin(project.pin_file)
    series = load_series(project.series_file)
    release = load_release(project.release_file)
    complaint = stale_revision(release, series)
    if complaint:
        raise ForkKitError(complaint)
    changes = changed_files(checkout, pin)
    built = []
    for file in upstream_wheels(pin, platforms or []):
        wheel = download_verified(file, file.sha256, project.cache_dir)
        shipped = shipped_changes(wheel, changes)
        modified = [path for path in shipped if changes[path] == "M"]
        inputs = {
            "upstream_wheel": file.sha256,
            "replacements": {p: show(checkout, PATCHED_BRANCH, p) for p in modified},
            "local_version": release.local_version(),
            "provenance": provenance(project, pin, series, file, changes, shipped),
            "expected_originals": {p: show(checkout, pin.upstream_tag, p) for p in modified},
            "added": {p: show(checkout, PATCHED_BRANCH, p) for p in shipped if changes[p] == "A"},
        }
        built.append(_reused(project, inputs) or _build(project, wheel, inputs))
    return built


def _inputs_key(inputs: dict[str, Any]) -> str:
    """Everything the (reproducible) wheel is a function of, the builder's own code included."""
    digest = sha256_hasher(Path(wheelbuild.__file__).read_bytes())
    for name, value in sorted(inputs.items()):
        if isinstance(value, dict) and all(isinstance(v, bytes) for v in value.values()):
            value = {path: sha256_digest(data) for path, data in value.items()}
        digest.update(f"{name}\0{json.dumps(value, sort_keys=True)}\0".encode())
    return str(digest.hexdigest())


def _record_path(project: Project, inputs: dict[str, Any]) -> Path:
    return project.dist_dir / BUILDS_DIR / _inputs_key(inputs)


def _reused(project: Project, inputs: dict[str, Any]) -> Path | None:
    """The wheel an earlier build wrote from identical inputs, if dist/ still holds it intact."""
    record = _record_path(project, inputs)
    try:
        earlier = json.loads(record.read_text())
        wheel = project.dist_dir / str(earlier["wheel"])
        return wheel if wheel.is_file() and sha256_of(wheel) == earlier["sha256"] else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _build(project: Project, upstream: Path, inputs: dict[str, Any]) -> Path:
    wheel = build_patched_wheel(
        upstream,
        replacements=inputs["replacements"],
        local_version=inputs["local_version"],
        provenance=inputs["provenance"],
        out_dir=project.dist_dir,
        expected_originals=inputs["expected_originals"],
        added=inputs["added"],
    )
    record = _record_path(project, inputs)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"wheel": wheel.name, "sha256": sha256_of(wheel)}) + "\n")
    return wheel


def provenance(
    project: Project,
    pin: Pin,
    series: Series,
    wheel: IndexFile,
    changes: dict[str, str],
    shipped: list[str],
) -> dict[str, object]:
    toolkit = gitutil.rev(project.root, "HEAD") if (project.root / ".git").exists() else None
    return {
        "upstream": {
            "project": pin.project,
            "version": pin.version,
            "source": pin.source,
            "sdist": pin.artifact,
            "sdist_sha256": pin.sha256,
            "wheel": wheel.filename,
            "wheel_sha256": wheel.sha256,
        },
        "patches": [{"name": p.name, "sha256": sha256_of(p)} for p in series.paths()],
        "patched_files": shipped,
        "not_shipped": sorted(p for p in changes if p not in shipped),
        "toolkit_commit": toolkit or "unknown",
        # The test environments' uv overrides: what the suite ran with, not a requirement of
        # this wheel (its METADATA keeps upstream's pins).
        "test_overrides": load_overrides(project.root).record(),
    }


def shipped_changes(wheel: Path, changes: dict[str, str]) -> list[str]:
    """The changed paths that belong in the wheel: files it ships, or new files in its packages.

    Changes elsewhere in the sdist (tests/, docs/) do not ship and are only recorded.
    """
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    packages = {name.split("/", 1)[0] for name in names if "/" in name}
    shipped = [
        p for p, s in changes.items() if p in names or (s == "A" and p.split("/")[0] in packages)
    ]
    deleted = [p for p in shipped if changes[p] == "D"]
    if deleted:
        raise ForkKitError(
            f"the series deletes shipped file(s) {', '.join(deleted)}; not supported"
        )
    return sorted(shipped)


def describe(wheel: Path) -> str:
    return f"{wheel} sha256 {sha256_of(wheel)}"


def parse_platform(value: str) -> str:
    """Accept a bare platform tag or a full tag triple (py3-none-manylinux_2_28_x86_64)."""
    return next(iter(parse_tag(value))).platform if value.count("-") == 2 else value


def upstream_wheels(pin: Pin, platforms: list[str]) -> list[IndexFile]:
    """The release's wheels to patch: its pure wheel, else one per asked-for platform."""
    wheels = [f for f in list_files(pin.project) if _is_release_wheel(f, pin) and not f.yanked]
    pure = [f for f in wheels if all(t.platform == "any" for t in _tags(f))]
    if pure:
        return pure[:1]
    if not wheels:
        raise ForkKitError(f"{pin.project} {pin.version} has no wheel on the package index")
    if platforms:
        return [_wheel_for_platform(wheels, platform, pin) for platform in platforms]
    return [_wheel_for_this_machine(wheels, pin)]


def _is_release_wheel(file: IndexFile, pin: Pin) -> bool:
    if not file.filename.endswith(".whl"):
        return False
    _, version, _, _ = parse_wheel_filename(file.filename)
    return str(version) == pin.version


def _tags(file: IndexFile) -> frozenset[Tag]:
    return parse_wheel_filename(file.filename)[3]


def _wheel_for_platform(wheels: list[IndexFile], platform: str, pin: Pin) -> IndexFile:
    for file in wheels:
        if any(tag.platform == platform for tag in _tags(file)):
            return file
    offered = sorted({tag.platform for file in wheels for tag in _tags(file)})
    raise ForkKitError(
        f"{pin.project} {pin.version} has no wheel for platform {platform}; "
        f"offered: {', '.join(offered)}"
    )


def _wheel_for_this_machine(wheels: list[IndexFile], pin: Pin) -> IndexFile:
    for tag in sys_tags():
        for file in wheels:
            if tag in _tags(file):
                return file
    raise ForkKitError(
        f"no wheel of {pin.project} {pin.version} fits this machine; pass --platform"
    )


def changed_files(checkout: Path, pin: Pin) -> dict[str, str]:
    """Path -> git status letter (A/M/D) for what the series changes against upstream."""
    out = gitutil.run(
        checkout, "diff", "--name-status", "--no-renames", pin.upstream_tag, PATCHED_BRANCH
    )
    return {line.split("\t", 1)[1]: line[0] for line in out.splitlines() if line.strip()}


def show(checkout: Path, revision: str, path: str) -> bytes:
    return gitutil.run_bytes(checkout, "show", f"{revision}:{path}")
