"""ci/report_conflict.py: dry runs from synthetic reports, then against a fake `gh`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.toolkit.ci_scripts import (
    CI,
    body_of,
    calls,
    conflict_report,
    field,
    one_line_error,
    rebased_report,
    script,
    with_fake_git,
    write_synthetic,
)

# --- report_conflict.py: dry run -----------------------------------------------------------------


def test_conflict_dry_run_prints_title_and_the_report_as_body(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    markdown = write_synthetic(tmp_path / "rep", conflict_report())
    env = with_fake_git(fake_env)
    done = script("report_conflict.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=env)
    assert done.returncode == 0, done.stderr
    assert field(done.stdout, "title") == "Upstream rebase conflict: litellm 1.81.12 → 1.81.14"
    assert field(done.stdout, "conflicts") == "0001-a.patch"
    assert body_of(done.stdout) == markdown
    assert "branch:" not in done.stdout
    assert calls(env) == []


def test_conflict_title_names_the_release_a_walk_stopped_at(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    write_synthetic(tmp_path / "rep", conflict_report(through=True))
    done = script(
        "report_conflict.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=fake_env
    )
    assert field(done.stdout, "title") == "Upstream rebase conflict: litellm 1.81.12 → 1.81.14"


def test_conflict_script_refuses_a_successful_report(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    write_synthetic(tmp_path / "rep", rebased_report())
    done = script(
        "report_conflict.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=fake_env
    )
    one_line_error(done, 2, "'rebased'", "open_rebase_pr.py")


def test_default_report_dir_is_work_rebase(tmp_path: Path, fake_env: dict[str, str]) -> None:
    markdown = write_synthetic(tmp_path / ".work" / "rebase", conflict_report())
    done = subprocess.run(
        [sys.executable, str(CI / "report_conflict.py"), "--dry-run"],
        cwd=tmp_path,
        env=fake_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert body_of(done.stdout) == markdown


# --- report_conflict.py: against a fake gh -------------------------------------------------------


def test_conflict_opens_an_issue_when_none_is_open(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    markdown = write_synthetic(tmp_path / "rep", conflict_report())
    fake_env["GITHUB_OUTPUT"] = str(tmp_path / "out.txt")
    done = script("report_conflict.py", "--report-dir", str(tmp_path / "rep"), env=fake_env)
    assert done.returncode == 0, done.stderr
    made = calls(fake_env)
    assert [c["args"][:2] for c in made] == [["issue", "list"], ["issue", "create"]]
    create = made[1]
    assert create["args"][create["args"].index("--title") + 1] == (
        "Upstream rebase conflict: litellm 1.81.12 → 1.81.14"
    )
    assert create["body"] == markdown
    assert (
        "issue_url=https://github.invalid/owner/fork/issues/5" in (tmp_path / "out.txt").read_text()
    )


def test_conflict_updates_the_open_issue_instead_of_opening_another(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    markdown = write_synthetic(tmp_path / "rep", conflict_report())
    fake_env["FAKE_LIST"] = json.dumps(
        [
            {
                "number": 3,
                "title": "Upstream rebase conflict: other 1.0 → 1.1",
                "body": "x",
                "url": "u3",
            },
            {
                "number": 9,
                "title": "Upstream rebase conflict: litellm 1.81.12 → 1.81.13",
                "body": "old report",
                "url": "https://github.invalid/owner/fork/issues/9",
            },
        ]
    )
    done = script("report_conflict.py", "--report-dir", str(tmp_path / "rep"), env=fake_env)
    assert done.returncode == 0, done.stderr
    made = calls(fake_env)
    assert [c["args"][:3] for c in made] == [
        ["issue", "list", "--state"],
        ["issue", "edit", "9"],
        ["issue", "comment", "9"],
    ]
    assert made[1]["body"] == markdown
    assert "1.81.14" in made[1]["args"][made[1]["args"].index("--title") + 1]


def test_conflict_leaves_an_up_to_date_issue_alone(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    markdown = write_synthetic(tmp_path / "rep", conflict_report())
    title = "Upstream rebase conflict: litellm 1.81.12 → 1.81.14"
    fake_env["FAKE_LIST"] = json.dumps(
        [{"number": 9, "title": title, "body": markdown, "url": "u"}]
    )
    done = script("report_conflict.py", "--report-dir", str(tmp_path / "rep"), env=fake_env)
    assert done.returncode == 0, done.stderr
    assert [c["args"][1] for c in calls(fake_env)] == ["list"]
    assert "up to date" in done.stderr


def test_gh_failure_is_one_line(tmp_path: Path, fake_env: dict[str, str]) -> None:
    write_synthetic(tmp_path / "rep", conflict_report())
    fake_env["FAKE_FAIL"] = "1"
    done = script("report_conflict.py", "--report-dir", str(tmp_path / "rep"), env=fake_env)
    one_line_error(done, 1, "gh issue list", "403")
