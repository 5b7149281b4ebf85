"""Shared by the ci/ script tests: synthetic reports, running a script, reading its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from forkkit.jsonfile import write_versioned
from forkkit.report import SCHEMA, VERSION, PatchOutcome, RebaseReport, StepReport, to_markdown
from tests.toolkit.fakes import BASE_FILES

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "ci"
BODY_START = "----- body -----\n"
BODY_END = "----- end of body -----\n"
MARKER = "Generated-By: ci/open_rebase_pr.py"
HEADERS = BASE_FILES["demo/headers.py"]


# --- synthetic reports -------------------------------------------------------------------------


def rebased_report(tests: str = "passed") -> RebaseReport:
    outcomes = [
        PatchOutcome("0001-passthrough-strip-litellm-key.patch", "clean"),
        PatchOutcome(
            "0002-keep-client-oauth-token.patch",
            "offset",
            "Hunk #1 succeeded at 40 (offset 3 lines) | in utils.py",
        ),
        PatchOutcome("0003-fixed-upstream.patch", "already-upstream", "Applied-Upstream: 1.82.0"),
    ]
    step = StepReport("1.81.12", "1.82.0", outcomes)
    return RebaseReport("litellm", "1.81.12", "1.82.0", [step], "rebased", tests)


def conflict_report(through: bool = False) -> RebaseReport:
    steps = []
    start = "1.81.12"
    if through:
        steps.append(
            StepReport("1.81.12", "1.81.13", [PatchOutcome("0001-a.patch", "clean")], False)
        )
        start = "1.81.13"
    outcomes = [
        PatchOutcome("0001-a.patch", "conflict", "litellm/proxy/auth.py hunk #2 at line 88"),
        PatchOutcome("0002-b.patch", "not-reached", "queued in git am"),
    ]
    steps.append(StepReport(start, "1.81.14", outcomes, True))
    next_steps = ["Resolve the conflict markers.", "`nox -s export`."]
    return RebaseReport("litellm", "1.81.12", "1.82.0", steps, "conflict", "not run", next_steps)


def write_synthetic(directory: Path, report: RebaseReport) -> str:
    """Write report.json and report.md as forkkit does; return the Markdown."""
    directory.mkdir(parents=True, exist_ok=True)
    write_versioned(directory / "report.json", SCHEMA, VERSION, asdict(report))
    markdown = to_markdown(report)
    (directory / "report.md").write_text(markdown)
    return markdown


# --- running the scripts -----------------------------------------------------------------------


def script(name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CI / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def body_of(stdout: str) -> str:
    start = stdout.index(BODY_START) + len(BODY_START)
    return stdout[start : stdout.index(BODY_END, start)]


def field(stdout: str, name: str) -> str:
    values = [line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith(name + ":")]
    assert len(values) == 1, f"{name}: appears {len(values)} times in {stdout!r}"
    return values[0]


def outputs(stdout: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in stdout.splitlines() if "=" in line]
    return {name: value for name, value in pairs if name.isidentifier()}


def one_line_error(done: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for word in words:
        assert word in lines[0]


FAKE = """#!{python}
import json, os, sys
args = sys.argv[1:]
entry = {{"tool": os.path.basename(sys.argv[0]), "args": args}}
if "--body-file" in args:
    with open(args[args.index("--body-file") + 1], encoding="utf-8") as body:
        entry["body"] = body.read()
with open(os.environ["FAKE_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(entry) + "\\n")
if os.environ.get("FAKE_FAIL"):
    sys.stderr.write("HTTP 403: Resource not accessible by integration\\n")
    sys.exit(1)
if args[1:2] == ["list"]:
    print(os.environ.get("FAKE_LIST", "[]"))
elif args[1:2] == ["create"]:
    print("https://github.invalid/owner/fork/" + ("pull/12" if args[0] == "pr" else "issues/5"))
"""


def calls(env: dict[str, str]) -> list[dict]:
    log = Path(env["FAKE_LOG"])
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def with_fake_git(env: dict[str, str]) -> dict[str, str]:
    """Also put a logging fake `git` first on PATH, to prove a dry run calls nothing."""
    bin_dir = Path(env["PATH"].split(os.pathsep)[0])
    (bin_dir / "git").write_text((bin_dir / "gh").read_text())
    (bin_dir / "git").chmod(0o755)
    return env
