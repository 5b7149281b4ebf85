"""check-installed: the LiteLLM a test environment got is byte for byte the wheel it installed.

uv links installed files to its shared cache, so an edit made in one venv's site-packages
changes the cache and every venv installed from it later: the negative control would then test
something that is not upstream. Comparing the installed files with the wheel's RECORD catches it.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import sys
from pathlib import Path

from forkkit.errors import ForkKitError


def check_installed(name: str, path: list[str] | None = None) -> str:
    """A line saying the distribution is intact; ForkKitError naming what changed otherwise."""
    found = list(importlib.metadata.distributions(name=name, path=path or sys.path))
    if not found:
        raise ForkKitError(f"{name} is not installed in this environment")
    dist = found[0]
    changed = changed_files(dist)
    if changed:
        shown = ", ".join(changed[:3]) + (" …" if len(changed) > 3 else "")
        raise ForkKitError(
            f"installed {name} {dist.version} differs from its wheel in {len(changed)} file(s) "
            f"({shown}): something edited it, likely through uv's shared cache, which uv links "
            f"installs to; run `uv cache clean {name}` and reinstall"
        )
    return f"{name} {dist.version}: every installed file matches its RECORD"


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
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        if digest != file.hash.value:
            changed.append(str(file))
    return changed
