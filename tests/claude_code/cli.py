"""Run the real Claude Code CLI in print mode, in a fresh HOME, against a base URL on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CLI_ENV = "FORKKIT_CLAUDE_CLI"
PROMPT = "say hello"
# Fixed identities, so what the CLI sends is the same with and without the proxy in between.
DEVICE_ID = "0f" * 32
SESSION_ID = "5e55e55e-0000-4000-8000-c1a0dec0de01"
# Bounds a run, the 401 case included: the CLI retries failed requests with backoff.
RUN_TIMEOUT_S = 90.0
# The CLI's own retry budget for the 401 case, so it gives up well inside RUN_TIMEOUT_S.
MAX_RETRIES = "2"
QUIET = {
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_ERROR_REPORTING": "1",
}
# Passed through from the test environment; everything else (ANTHROPIC_*, proxies) is not.
_INHERITED = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def cli_path() -> Path | None:
    value = os.environ.get(CLI_ENV)
    return Path(value) if value else None


def fresh_home(root: Path) -> Path:
    """A HOME that has never seen Claude Code, except for a fixed device id."""
    root.mkdir(parents=True)
    (root / ".claude.json").write_text(json.dumps({"userID": DEVICE_ID}))
    return root


def run_claude(
    cli: Path,
    home: Path,
    base_url: str,
    credentials: dict[str, str],
    *extra_args: str,
    egress_proxy: str,
) -> CliRun:
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    env.update(QUIET)
    env.update(
        HOME=str(home),
        ANTHROPIC_BASE_URL=base_url,
        CLAUDE_CODE_MAX_RETRIES=MAX_RETRIES,
        # Loopback goes direct; anything else would reach the egress trap, never the network.
        HTTPS_PROXY=egress_proxy,
        HTTP_PROXY=egress_proxy,
        https_proxy=egress_proxy,
        http_proxy=egress_proxy,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    env.update(credentials)
    command = [str(cli), "-p", PROMPT, "--session-id", SESSION_ID, "--no-session-persistence"]
    started = time.monotonic()
    result = subprocess.run(
        [*command, *extra_args],
        env=env,
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    return CliRun(result.returncode, result.stdout, result.stderr, time.monotonic() - started)
