"""upstream-versions: releases newer than the pin, and whether `<project>[proxy]` resolves."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from forkkit import gitutil
from forkkit.errors import ForkKitError
from forkkit.index import index_url, list_files, versions_from_files
from forkkit.pin import Pin

RESOLVE_EXTRA = "proxy"


@dataclass(frozen=True)
class Candidate:
    version: Version
    resolves: bool | None = None  # None: not checked


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


def resolves(project: str, version: Version, extra: str = RESOLVE_EXTRA) -> bool:
    """Whether `project[extra]==version` resolves on the configured index (uv pip compile)."""
    uv = shutil.which("uv") or _uv_from_package()
    if not uv:
        raise ForkKitError("uv is needed to check resolution; install it (pip install uv)")
    requirement = f"{project}[{extra}]=={version}"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    done = subprocess.run(
        [
            uv,
            "pip",
            "compile",
            "--quiet",
            "--no-header",
            "--python-version",
            python,
            "--default-index",
            index_url(),
            "-",
        ],
        input=requirement,
        capture_output=True,
        text=True,
        check=False,
        timeout=float(os.environ.get("FORKKIT_RESOLVE_TIMEOUT", "180")),
    )
    return done.returncode == 0


def _uv_from_package() -> str | None:
    try:
        from uv import find_uv_bin
    except ImportError:
        return None
    return str(find_uv_bin())


def candidates(pin: Pin, pre: bool = False, check: int = 0) -> list[Candidate]:
    """Newer releases, the newest `check` of them tested for resolution."""
    found = newer_versions(pin, pre)
    checked = set(found[-check:]) if check else set()
    return [Candidate(v, resolves(pin.project, v) if v in checked else None) for v in found]


def choose_target(pin: Pin, target: str, pre: bool = False) -> Version | None:
    """`latest`, `latest-resolving` (newest whose [proxy] extra installs) or a version newer than
    the pin; None when there is nothing newer."""
    newer = newer_versions(pin, pre)
    if target == "latest":
        return newer[-1] if newer else None
    if target == "latest-resolving":
        return next((v for v in reversed(newer) if resolves(pin.project, v)), None)
    try:
        wanted = Version(target)
    except InvalidVersion:
        raise ForkKitError(
            f"not a version: {target!r} (use a version, 'latest' or 'latest-resolving')"
        ) from None
    if wanted not in newer:
        raise ForkKitError(f"{pin.project} {target} is not a release newer than {pin.version}")
    return wanted
