"""The one path from the pin to a checkout, and the one lock at its edge.

pin -> verified artifact (fetch) -> pristine repository (checkout.ensure_pristine) -> checkout
(checkout.ensure_checkout): `materialise` walks it, and every verb that needs the pinned release
enters it once (apply; build, check, drop and rebase through apply; fetch stops at the pristine
repository). The steps take no locks of their own: `locked` is the only lock, taken at the CLI
edge for every verb that touches the cache or the checkout, and by `apply` for callers that use
the library directly. It lives in the cache, which every checkout using that cache shares, so
concurrent runs share downloads, pristine repositories and checkouts safely; it is re-entrant
within a process, so a verb built on another does not wait for itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from forkkit.checkout import ensure_checkout, ensure_pristine
from forkkit.locking import file_lock
from forkkit.pin import Pin, load_pin
from forkkit.project import Project

LOCK_NAME = ".lock"
_held: dict[Path, int] = {}  # lock path -> depth, in this process


@contextmanager
def locked(project: Project) -> Iterator[None]:
    path = (project.cache_dir / LOCK_NAME).absolute()
    if _held.get(path):
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    with file_lock(path):
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]


def materialise(project: Project, pin: Pin | None = None) -> Path:
    """The checkout holding the pinned release at tag upstream/<version>, built as needed."""
    with locked(project):
        return ensure_checkout(project, pin or load_pin(project.pin_file))


def pristine(project: Project, pin: Pin | None = None) -> Path:
    """The pristine repository of a release (the pin by default): verified artifact, imported."""
    with locked(project):
        return ensure_pristine(pin or load_pin(project.pin_file), project.cache_dir)
