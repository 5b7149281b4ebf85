"""Shared helpers for the ci/ scripts: the rebase report, git and gh calls, GitHub outputs.

Standard library only, so the jobs that talk to GitHub need no virtual environment. Errors are
raised as CIError and reported by `run_main` as one `error: ...` line, never a traceback.

Exit codes of every script: 0 done (or nothing to do), 1 a git/gh/toolkit command failed,
2 bad input (missing or malformed report, a report for the other path, bad arguments).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_REPORT_DIR = Path(".work") / "rebase"
# Paths a rebase changes in this repository, and so the paths a rebase pull request commits.
REBASE_PATHS = ("upstream", "patches", "docs/rebases")
# forkkit/report.py's stamp; the scripts use only the standard library, so it is repeated here.
REPORT_SCHEMA = ("forkkit.rebase-report", 1)
BODY_LIMIT = 60000  # GitHub refuses issue and pull-request bodies over 65536 characters
BODY_START = "----- body -----"
BODY_END = "----- end of body -----"
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+!_-]*$")

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


class CIError(Exception):
    """A failure to report in one line; `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Report:
    """The parts of .work/rebase/report.json the scripts use, plus the Markdown body."""

    project: str
    from_version: str
    target: str
    result: str
    tests: str
    steps: list[dict[str, Any]]
    markdown: str

    @property
    def reached(self) -> str:
        """The last release every patch was placed on (the pin after a successful rebase)."""
        done = [s["to_version"] for s in self.steps if not s.get("conflict")]
        return done[-1] if done else self.from_version

    @property
    def conflict_version(self) -> str:
        """The release the rebase stopped at."""
        stopped = [s["to_version"] for s in self.steps if s.get("conflict")]
        return stopped[0] if stopped else self.target

    @property
    def conflicting_patches(self) -> list[str]:
        return [
            o["patch"]
            for s in self.steps
            for o in s.get("outcomes", [])
            if o.get("status") == "conflict"
        ]


def load_report(report_dir: Path) -> Report:
    machine, markdown = report_dir / "report.json", report_dir / "report.md"
    for path in (machine, markdown):
        if not path.is_file():
            raise CIError(f"no rebase report at {path}; run the rebase first", EXIT_INPUT)
    try:
        data = json.loads(machine.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CIError(f"{machine} is not valid JSON ({exc})", EXIT_INPUT) from None
    if not isinstance(data, dict):
        raise CIError(f"{machine} does not hold a JSON object", EXIT_INPUT)
    stamp = (data.get("schema"), data.get("schema_version"))
    if stamp not in (REPORT_SCHEMA, (None, None)):  # unstamped: written before stamps, same fields
        raise CIError(
            f"{machine} is {stamp[0]} version {stamp[1]}, these scripts read {REPORT_SCHEMA[0]} "
            f"version {REPORT_SCHEMA[1]}; rerun the rebase with this toolkit",
            EXIT_INPUT,
        )
    missing = [k for k in ("project", "from_version", "target", "result", "steps") if k not in data]
    if missing:
        raise CIError(f"{machine} lacks {', '.join(missing)}", EXIT_INPUT)
    steps = data["steps"]
    if not isinstance(steps, list) or not all(
        isinstance(s, dict) and "to_version" in s for s in steps
    ):
        raise CIError(f"{machine}: steps must be a list of objects with to_version", EXIT_INPUT)
    report = Report(
        project=str(data["project"]),
        from_version=str(data["from_version"]),
        target=str(data["target"]),
        result=str(data["result"]),
        tests=str(data.get("tests", "not run")),
        steps=steps,
        markdown=markdown.read_text(encoding="utf-8"),
    )
    for value in (report.project, report.from_version, report.target, report.reached):
        if not _VERSION.match(value):
            raise CIError(f"{machine}: {value!r} is not a plain name or version", EXIT_INPUT)
    return report


def body_text(markdown: str) -> str:
    if len(markdown) <= BODY_LIMIT:
        return markdown
    cut = markdown[:BODY_LIMIT].rsplit("\n", 1)[0]
    return cut + "\n\n_(report truncated; the full report is in the workflow run's artifact)_\n"


def print_body(body: str) -> None:
    """Print a body between marker lines, verbatim, so a reader (or a test) can cut it out."""
    print(BODY_START)
    print(body, end="" if body.endswith("\n") else "\n")
    print(BODY_END)


def run(cmd: Sequence[str], cwd: Path | None = None, check: bool = True) -> str:
    """Run a command, return its stdout; on failure raise CIError naming it, one line."""
    # LC_ALL=C: git's and gh's messages are read (and quoted in errors) in one language.
    env = {**os.environ, "LC_ALL": "C"}
    try:
        done = subprocess.run(
            list(cmd), cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
        )
    except FileNotFoundError:
        raise CIError(f"{cmd[0]} is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise CIError(f"`{_shown(cmd)}` timed out") from None
    if check and done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        why = lines[-1].strip() if lines else f"exit status {done.returncode}"
        raise CIError(f"`{_shown(cmd)}` failed: {why}")
    return done.stdout


def succeeds(cmd: Sequence[str], cwd: Path | None = None) -> bool:
    try:
        env = {**os.environ, "LC_ALL": "C"}
        done = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, check=False)
        return done.returncode == 0
    except FileNotFoundError:
        raise CIError(f"{cmd[0]} is not installed or not on PATH") from None


def _shown(cmd: Sequence[str]) -> str:
    """The command for an error message: program and verb only (arguments may be long)."""
    return " ".join(cmd[:3])


def gh_json(args: Sequence[str], cwd: Path | None = None) -> Any:
    out = run(["gh", *args], cwd=cwd)
    try:
        return json.loads(out or "null")
    except json.JSONDecodeError:
        raise CIError(f"`gh {' '.join(args[:2])}` did not print JSON") from None


def set_outputs(values: dict[str, str], dry_run: bool = False) -> None:
    """Print name=value lines; also append them to $GITHUB_OUTPUT when set and not a dry run."""
    for name, value in values.items():
        if "\n" in value:
            raise CIError(f"output {name} must be one line")
        print(f"{name}={value}")
    target = os.environ.get("GITHUB_OUTPUT")
    if target and not dry_run:
        with open(target, "a", encoding="utf-8") as out:
            out.writelines(f"{name}={value}\n" for name, value in values.items())


def run_main(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    try:
        return main(argv)
    except CIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
