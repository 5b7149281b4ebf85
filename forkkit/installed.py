"""check-installed: the LiteLLM a test environment got is byte for byte the wheel it installed.

uv links installed files to its shared cache, so an edit made in one venv's site-packages
changes the cache and every venv installed from it later: the negative control would then test
something that is not upstream. Comparing the installed files with the wheel's RECORD catches it.

Hashing LiteLLM's thousands of files takes seconds, so a result is cached by the files' identity:
each file's inode, size, modification and change time (ctime moves on every write and cannot be
set back). A warm run whose files are exactly those already checked does not read them again.
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from forkkit.digest import record_digest, sha256_digest
from forkkit.errors import ForkKitError


def check_installed(name: str, path: list[str] | None = None, cache_dir: Path | None = None) -> str:
    """A line saying the distribution is intact; ForkKitError naming what changed otherwise."""
    found = list(importlib.metadata.distributions(name=name, path=path or sys.path))
    if not found:
        raise ForkKitError(f"{name} is not installed in this environment")
    dist = found[0]
    marker = cache_dir / "checked-installs" / identity(dist) if cache_dir else None
    if marker is not None and marker.is_file():
        return f"{name} {dist.version}: every installed file matches its RECORD (unchanged since)"
    changed = changed_files(dist)
    if changed:
        shown = ", ".join(changed[:3]) + (" …" if len(changed) > 3 else "")
        raise ForkKitError(
            f"installed {name} {dist.version} differs from its wheel in {len(changed)} file(s) "
            f"({shown}): something edited it, likely through uv's shared cache, which uv links "
            f"installs to; run `uv cache clean {name}` and reinstall"
        )
    if marker is not None:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    return f"{name} {dist.version}: every installed file matches its RECORD"


def installed_from(wheel: Path, name: str, path: list[str] | None = None) -> bool:
    """Whether the installed distribution has exactly the wheel's files (its RECORD's hashes).

    Then reinstalling the wheel would change nothing; whether the files are still intact is
    check_installed's question.
    """
    found = list(importlib.metadata.distributions(name=name, path=path or sys.path))
    if not found:
        return False
    installed = {str(f): f.hash.value for f in found[0].files or [] if f.hash}
    try:
        with zipfile.ZipFile(wheel) as archive:
            record = next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
            rows = archive.read(record).decode().splitlines()
    except (OSError, zipfile.BadZipFile, StopIteration):
        return False
    shipped = {}
    for row in csv.reader(rows):
        if len(row) >= 2 and row[1].startswith("sha256="):
            shipped[row[0]] = row[1].removeprefix("sha256=")
    return bool(shipped) and all(installed.get(file) == value for file, value in shipped.items())


def interpreter_path(python: str) -> list[str]:
    """sys.path of another interpreter (a venv the toolkit does not run in)."""
    code = "import json, sys; print(json.dumps(sys.path))"
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ForkKitError(f"cannot run {python}: {exc}") from None
    return [str(entry) for entry in json.loads(out.stdout)]


def identity(dist: importlib.metadata.Distribution) -> str:
    """A digest of the RECORD and of every listed file's inode, size, mtime and ctime."""
    parts = [dist.metadata["Name"] or "", dist.version]
    for file in dist.files or []:
        try:
            stat = os.stat(str(file.locate()))
        except OSError:
            parts.append(f"{file}\0missing")
            continue
        parts.append(f"{file}\0{file.hash.value if file.hash else ''}\0{stat.st_ino}")
        parts.append(f"{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}")
    return sha256_digest("\0".join(parts).encode())


def changed_files(dist: importlib.metadata.Distribution) -> list[str]:
    changed = []
    for file in dist.files or []:
        if file.hash is None or file.hash.mode != "sha256":
            continue
        try:
            data = Path(str(file.locate())).read_bytes()
        except OSError:
            changed.append(str(file))
            continue
        if record_digest(data) != file.hash.value:
            changed.append(str(file))
    return changed
