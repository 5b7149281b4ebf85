"""The JSON files kept between runs carry a schema version; an unreadable one is one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from forkkit.apply import apply
from forkkit.project import Project
from forkkit.report import RebaseReport, write_report
from forkkit.state import STATE_NAME
from tests.toolkit.ci_scripts import script

OLDER_REPORT = {"project": "demo", "from_version": "1.0", "target": "1.1", "steps": []}


def cli(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "forkkit", "--root", str(project.root), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for word in words:
        assert word in lines[0]


def test_files_are_stamped_with_their_schema(project: Project) -> None:
    checkout = apply(project).checkout
    write_report(project.root, RebaseReport("demo", "1.0", "1.1"))
    applied = json.loads((checkout / ".git" / STATE_NAME).read_text())
    report = json.loads(project.rebase_report_json.read_text())
    assert (applied["schema"], applied["schema_version"]) == ("forkkit.applied", 1)
    assert (report["schema"], report["schema_version"]) == ("forkkit.rebase-report", 1)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "is not valid JSON"),
        (
            json.dumps({"schema": "forkkit.rebase-report", "schema_version": 0, **OLDER_REPORT}),
            "is forkkit.rebase-report version 0, this toolkit reads forkkit.rebase-report",
        ),
        (
            json.dumps({"schema": "forkkit.applied", "schema_version": 1, **OLDER_REPORT}),
            "is forkkit.applied version 1, this toolkit reads forkkit.rebase-report",
        ),
        (
            json.dumps({"schema": "forkkit.rebase-report", "schema_version": 9, **OLDER_REPORT}),
            "is forkkit.rebase-report version 9, this toolkit reads forkkit.rebase-report",
        ),
        (
            json.dumps({"schema": "forkkit.rebase-report", "schema_version": 1, "steps": []}),
            "is malformed",
        ),
    ],
)
def test_unreadable_report_is_one_line_naming_it(project: Project, content: str, why: str) -> None:
    project.rebase_report_json.parent.mkdir(parents=True)
    project.rebase_report_json.write_text(content)
    done = cli(project, "note", "ported by hand")
    assert_one_line(done, str(project.rebase_report_json), why, "delete .work/rebase/")


def test_newer_applied_state_is_one_line_and_the_remedy_works(project: Project) -> None:
    checkout = apply(project).checkout
    state = checkout / ".git" / STATE_NAME
    stamp = {"schema": "forkkit.applied", "schema_version": 2}
    state.write_text(json.dumps({**stamp, "digest": "0" * 64, "head": "0" * 40}))
    assert_one_line(cli(project, "apply"), str(state), "version 2", "apply -- --force")
    state.unlink()
    done = cli(project, "apply", "--force")
    assert done.returncode == 0, done.stderr
    assert cli(project, "apply").stdout.startswith("already up to date")


def test_files_from_before_the_stamps_read_as_version_1(project: Project) -> None:
    checkout = apply(project).checkout
    state = checkout / ".git" / STATE_NAME
    unstamped = {k: v for k, v in json.loads(state.read_text()).items() if "schema" not in k}
    state.write_text(json.dumps(unstamped))
    assert cli(project, "apply").stdout.startswith("already up to date")
    project.rebase_report_json.parent.mkdir(parents=True)
    project.rebase_report_json.write_text(json.dumps({**OLDER_REPORT, "result": "rebased"}))
    assert cli(project, "note", "kept").returncode == 0
    assert json.loads(project.rebase_report_json.read_text())["notes"] == ["kept"]


def test_ci_scripts_refuse_a_newer_report(tmp_path: Path, fake_env: dict[str, str]) -> None:
    (tmp_path / "rep").mkdir()
    stamp = {"schema": "forkkit.rebase-report", "schema_version": 2}
    (tmp_path / "rep" / "report.json").write_text(json.dumps({**OLDER_REPORT, **stamp}))
    (tmp_path / "rep" / "report.md").write_text("# report\n")
    done = script("report_conflict.py", "--dry-run", "--report-dir", str(tmp_path / "rep"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "version 2" in done.stderr and "rerun the rebase" in done.stderr
