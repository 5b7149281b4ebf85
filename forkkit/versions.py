"""upstream-versions: releases newer than the pin, and whether `<project>[proxy]` resolves."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from forkkit import gitutil
from forkkit.errors import ForkKitError
from forkkit.index import index_url, list_files, versions_from_files
from forkkit.overrides import Overrides
from forkkit.pin import Pin

RESOLVE_EXTRA = "proxy"


PLAIN = "installs plain"
WITH_OVERRIDES = "installs only with upstream/overrides.txt"
NOT_AT_ALL = "does not install"
KINDS = (PLAIN, WITH_OVERRIDES, NOT_AT_ALL)


@dataclass(frozen=True)
class Candidate:
    version: Version
    installs: str  # one of KINDS, for the [proxy] extra


def newer_versions(pin: Pin, pre: bool = False) -> list[Version]:
    current = Version(pin.version)
    found = _index_versions(pin) if pin.source == "index" else _tag_versions(pin)
    return [v for v in found if v > current and (pre or not v.is_prerelease)]


def _index_versions(pin: Pin) -> list[Version]:
    return versions_from_files(pin.project, list_files(pin.project))


def _tag_versions(pin: Pin) -> list[Version]:
    out = gitutil.run(Path.cwd(), "ls-remote", "--tags", "--refs", pin.url)
    versions = set()
    for line in out.splitlines():
        name = line.split("refs/tags/", 1)[-1]
        try:
            versions.add(Version(name.removeprefix("v")))
        except InvalidVersion:
            continue
    return sorted(versions)


def tag_for(pin: Pin, version: Version) -> str:
    """The git tag of a release, in the pin's tag style (with or without a leading v)."""
    return f"v{version}" if pin.tag.startswith("v") else str(version)


def resolves(
    project: str, version: Version, extra: str = RESOLVE_EXTRA, overrides: Overrides | None = None
) -> bool:
    """Whether `project[extra]==version` resolves on the configured index (a dry `uv pip compile`
    that installs nothing), with the uv overrides when given."""
    uv = uv_binary()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    command = [uv, "pip", "compile", "--quiet", "--no-header", "--python-version", python]
    command += ["--default-index", index_url(), *(overrides.uv_args() if overrides else []), "-"]
    done = subprocess.run(
        command,
        input=f"{project}[{extra}]=={version}",
        capture_output=True,
        text=True,
        check=False,
        timeout=float(os.environ.get("FORKKIT_RESOLVE_TIMEOUT", "180")),
    )
    return done.returncode == 0


@functools.cache
def uv_binary() -> str:
    """Found once, before any thread asks: uv's finder reads sysconfig, which is not thread-safe."""
    uv = shutil.which("uv") or _uv_from_package()
    if not uv:
        raise ForkKitError("uv is needed to check resolution; install it (pip install uv)")
    return uv


def _uv_from_package() -> str | None:
    try:
        from uv import find_uv_bin
    except ImportError:
        return None
    return str(find_uv_bin())


def classify(project: str, version: Version, overrides: Overrides) -> str:
    """PLAIN, WITH_OVERRIDES or NOT_AT_ALL for the [proxy] extra of one release."""
    if resolves(project, version):
        return PLAIN
    if overrides.entries and resolves(project, version, overrides=overrides):
        return WITH_OVERRIDES
    return NOT_AT_ALL


def candidates(pin: Pin, overrides: Overrides, pre: bool = False) -> list[Candidate]:
    """Every newer release, each classified; the dry resolutions run in parallel."""
    found = newer_versions(pin, pre)
    uv_binary()
    workers = int(os.environ.get("FORKKIT_RESOLVE_JOBS", "6"))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        kinds = pool.map(lambda v: classify(pin.project, v, overrides), found)
        return [Candidate(v, kind) for v, kind in zip(found, kinds, strict=True)]


def newest_of_each(found: list[Candidate]) -> dict[str, Version]:
    """Kind -> the newest release of that kind (kinds no release has are left out)."""
    return {c.installs: c.version for c in found}  # found is sorted, so the newest wins


def choose_target(
    pin: Pin, target: str, pre: bool = False, overrides: Overrides | None = None
) -> Version | None:
    """`latest`, `latest-resolving` (newest whose [proxy] extra installs, with the overrides the
    test environments use) or a version newer than the pin; None when there is nothing newer."""
    newer = newer_versions(pin, pre)
    if target == "latest":
        return newer[-1] if newer else None
    if target == "latest-resolving":
        return next(
            (v for v in reversed(newer) if resolves(pin.project, v, overrides=overrides)), None
        )
    try:
        wanted = Version(target)
    except InvalidVersion:
        raise ForkKitError(
            f"not a version: {target!r} (use a version, 'latest' or 'latest-resolving')"
        ) from None
    if wanted not in newer:
        raise ForkKitError(f"{pin.project} {target} is not a release newer than {pin.version}")
    return wanted
