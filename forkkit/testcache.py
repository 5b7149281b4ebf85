"""Content-addressed record of behaviour-suite passes, so a warm rerun with identical inputs is
skipped: the same wheel bytes, the same test files, the same test requirements and Python."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from forkkit.digest import sha256_hasher, sha256_of
from forkkit.project import Project


def suite_key(wheel: Path, tests: Path, requirements: Iterable[str]) -> str:
    """The key of a pass: the wheel, Python, the requirements and every file `tests` holds (a
    folder, or one file a suite uses)."""
    digest = sha256_hasher(f"{sys.version}\0{sha256_of(wheel)}\0".encode())
    for requirement in sorted(requirements):
        digest.update(requirement.encode() + b"\0")
    base = tests.parent if tests.is_file() else tests
    for path in suite_files(tests):
        digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def suite_files(tests: Path) -> list[Path]:
    """What a suite reads: every file of the folder (data files such as the fork server's
    preload list too), bytecode caches aside; or the one file named."""
    if tests.is_file():
        return [tests]
    return sorted(
        path
        for path in tests.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def _marker(root: Path, key: str) -> Path:
    return Project(root).test_passes_dir / key


def has_passed(root: Path, key: str) -> bool:
    return _marker(root, key).is_file()


def record_pass(root: Path, key: str) -> None:
    marker = _marker(root, key)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
