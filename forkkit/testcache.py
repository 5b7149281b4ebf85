"""Content-addressed record of behaviour-suite passes, so a warm rerun with identical inputs is
skipped: the same wheel bytes, the same test files, the same test requirements and Python."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from forkkit.digest import sha256_hasher, sha256_of
from forkkit.project import Project


def suite_key(wheel: Path, tests_dir: Path, requirements: Iterable[str]) -> str:
    digest = sha256_hasher(f"{sys.version}\0{sha256_of(wheel)}\0".encode())
    for requirement in sorted(requirements):
        digest.update(requirement.encode() + b"\0")
    for path in sorted(tests_dir.rglob("*.py")):
        digest.update(str(path.relative_to(tests_dir)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _marker(root: Path, key: str) -> Path:
    return Project(root).test_passes_dir / key


def has_passed(root: Path, key: str) -> bool:
    return _marker(root, key).is_file()


def record_pass(root: Path, key: str) -> None:
    marker = _marker(root, key)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
