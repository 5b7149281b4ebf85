"""claude-cli: install the pinned Claude Code CLI from npm into the cache and print its path.

The version lives in `tests/claude_code/npm/package.json` and its lock file (integrity hashes, no
registry URLs: npm resolves from the user's own registry configuration). The install is keyed by
the sha256 of both files, so a warm run does nothing and a version bump installs beside the old.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from forkkit.digest import sha256_hasher
from forkkit.errors import ForkKitError
from forkkit.project import Project

PIN_FILES = ("package.json", "package-lock.json")
MIN_NODE_MAJOR = 18
NPM_TIMEOUT_S = 600.0


def pin_dir(project: Project) -> Path:
    return project.root / "tests" / "claude_code" / "npm"


def install_cli(project: Project) -> Path:
    """The `claude` executable of the pinned version, installed with `npm ci` on first use."""
    source = pin_dir(project)
    key = pin_key(source)
    target = project.cache_dir / "claude-code" / key
    binary = target / "node_modules" / ".bin" / "claude"
    if binary.exists():
        return binary
    missing_tools = tools_missing()
    if missing_tools:
        raise ForkKitError(missing_tools)
    staging = target.with_name(f"{key}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in PIN_FILES:
        shutil.copy2(source / name, staging / name)
    _npm_ci(staging)
    try:
        staging.rename(target)
    except OSError:  # another run finished first; its install is as good as ours
        shutil.rmtree(staging, ignore_errors=True)
    return binary


def pin_key(source: Path) -> str:
    digest = sha256_hasher()
    for name in PIN_FILES:
        path = source / name
        if not path.is_file():
            raise ForkKitError(f"{path} is missing; it pins the Claude Code version")
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def tools_missing() -> str | None:
    """Why the CLI cannot be installed here (None when node >= 18 and npm are on PATH)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        absent = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        return f"{absent} not found on PATH; the Claude Code CLI needs node >= {MIN_NODE_MAJOR}"
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    major = version.lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < MIN_NODE_MAJOR:
        return f"node {version or '(unknown version)'} is too old; Claude Code needs >= 18"
    return None


def _npm_ci(directory: Path) -> None:
    command = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        result = subprocess.run(
            command,
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ForkKitError(
            f"`npm ci` for the Claude Code CLI took over {NPM_TIMEOUT_S:.0f}s"
        ) from exc
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ForkKitError(f"`npm ci` for the Claude Code CLI failed: {last}")
    if not (directory / "node_modules" / ".bin" / "claude").exists():
        raise ForkKitError("`npm ci` finished but installed no `claude` executable")
