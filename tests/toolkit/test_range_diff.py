"""Every rebase report carries a `git range-diff` of the old and the new series."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

from forkkit.errors import ForkKitError
from forkkit.project import Project
from forkkit.rangediff import changed_pairs
from forkkit.rebase import rebase
from forkkit.report import report_paths
from forkkit.stopped_rebase import continue_rebase
from tests.toolkit.fakes import FakeIndex, git
from tests.toolkit.rebasing import HEADERS, author, publish

ROOT = Path(__file__).resolve().parents[2]
HEADING = "### Range-diff: the 1.0 series against the 1.1 series"


def report_text(project: Project) -> str:
    return report_paths(project.root)[0].read_text()


def test_clean_and_offset_applies_have_an_empty_range_diff(
    project: Project, index: FakeIndex
) -> None:
    author(project)
    publish(index, "1.1", "new 1\nnew 2\n" + HEADERS)
    rebase(project, "1.1")
    text = report_text(project)
    assert HEADING in text
    assert "Empty: every patch carried over unchanged" in text
    assert json.loads(report_paths(project.root)[1].read_text())["steps"][0]["range_diff"] == ""


def test_a_hand_port_shows_in_the_range_diff_with_the_size_change(
    project: Project, index: FakeIndex
) -> None:
    checkout = author(project)
    publish(index, "1.1", HEADERS.replace("line 5\n", "line 5 upstream\n"))
    with contextlib.suppress(ForkKitError):
        rebase(project, "1.1")
    assert "Not yet: the step stopped at a conflict" in report_text(project)
    ported = HEADERS.replace("line 5\n", "line five\nline five and a half\n")
    (checkout / "demo/headers.py").write_text(ported)
    git(checkout, "add", "demo/headers.py")
    continue_rebase(project)
    text = report_text(project)
    section = text.split(HEADING, 1)[1]
    assert "```diff" in section
    assert "headers: spell out line five" in section
    assert "    ++line five and a half" in section  # the port's new line, in range-diff's form
    assert "headers: spell out line thirty" not in section  # unchanged, so left out
    assert "- `headers: spell out line five`: 2 → 3 changed lines (grew by 1)" in section


def test_changed_pairs_keeps_only_what_moved() -> None:
    output = (
        "1:  1111111 = 1:  2222222 same\n"
        "2:  3333333 ! 2:  4444444 ported\n"
        "    @@ demo/headers.py\n"
        "    -+old\n"
        "    ++new\n"
        "3:  5555555 < -:  ------- dropped\n"
        "-:  ------- > 3:  6666666 added\n"
    )
    assert changed_pairs(output).splitlines() == output.splitlines()[1:]
    assert changed_pairs("1:  1111111 = 1:  2222222 same\n") == ""
    only_line_endings = "1:  1111111 ! 1:  2222222 same but CRLF\n2:  3333333 = 2:  4444444 x\n"
    assert changed_pairs(only_line_endings) == ""


def test_the_daily_workflows_pull_request_body_carries_the_range_diff(
    project: Project, index: FakeIndex, tmp_path: Path
) -> None:
    author(project)
    git(project.root, "init", "--quiet", "-b", "main")
    (project.root / ".gitignore").write_text("/.work/\n")
    git(project.root, "add", ".")
    git(project.root, "commit", "--quiet", "-m", "fork")
    publish(index, "1.1", HEADERS.replace("line 3\n", "line 3 reworded\n"))
    out = tmp_path / "out"
    args = ["1.1", "--root", str(project.root), "--no-tests", "--export-dir", str(out)]
    assert ci_script("run_rebase.py", *args).returncode == 0
    pr = ci_script("open_rebase_pr.py", "--dry-run", "--report-dir", str(out))
    assert pr.returncode == 0, pr.stderr
    body = pr.stdout.split("----- body -----\n", 1)[1]
    section = body.split(HEADING, 1)[1]
    assert "headers: spell out line five" in section.split("```", 2)[1]
    assert "    - line 3\n    + line 3 reworded\n" in section  # the merge moved the context


def ci_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "ci" / name), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
