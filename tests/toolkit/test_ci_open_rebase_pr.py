"""ci/open_rebase_pr.py: dry runs from synthetic reports, then a real repository, a bare
remote and a fake `gh`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.toolkit.ci_scripts import (
    BODY_START,
    MARKER,
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
from tests.toolkit.fakes import git

# --- open_rebase_pr.py: dry run ------------------------------------------------------------------


def test_pr_dry_run_prints_title_branch_and_the_report_as_body(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    markdown = write_synthetic(tmp_path / "rep", rebased_report())
    done = script(
        "open_rebase_pr.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=fake_env
    )
    assert done.returncode == 0, done.stderr
    assert field(done.stdout, "title") == "Rebase litellm 1.81.12 → 1.82.0"
    assert field(done.stdout, "branch") == "upstream/rebase-1.82.0"
    assert field(done.stdout, "base") == "main"
    assert field(done.stdout, "draft") == "no"
    assert field(done.stdout, "commit") == "upstream/ patches/ docs/rebases/"
    assert body_of(done.stdout) == markdown
    assert "already upstream (dropped)" in body_of(done.stdout)


def test_pr_dry_run_calls_neither_git_nor_gh(tmp_path: Path, fake_env: dict[str, str]) -> None:
    write_synthetic(tmp_path / "rep", rebased_report())
    env = with_fake_git(fake_env)
    done = script("open_rebase_pr.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=env)
    assert done.returncode == 0, done.stderr
    assert calls(env) == []


def test_pr_is_a_draft_when_the_behaviour_suite_failed(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    write_synthetic(tmp_path / "rep", rebased_report(tests="failed"))
    args = ("--dry-run", "--report-dir", str(tmp_path / "rep"), "--base", "release")
    done = script("open_rebase_pr.py", *args, env=fake_env)
    assert field(done.stdout, "draft") == "yes"
    assert field(done.stdout, "base") == "release"
    assert "**failed**" in body_of(done.stdout)


def test_pr_refuses_a_conflict_report(tmp_path: Path, fake_env: dict[str, str]) -> None:
    write_synthetic(tmp_path / "rep", conflict_report())
    done = script(
        "open_rebase_pr.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=fake_env
    )
    one_line_error(done, 2, "'conflict'", "report_conflict.py")
    assert BODY_START not in done.stdout


@pytest.mark.parametrize("name", ["open_rebase_pr.py", "report_conflict.py"])
def test_missing_report_is_one_line(tmp_path: Path, fake_env: dict[str, str], name: str) -> None:
    done = script(name, "--dry-run", "--report-dir", str(tmp_path / "nowhere"), env=fake_env)
    one_line_error(done, 2, "no rebase report", "report.json")


@pytest.mark.parametrize("name", ["open_rebase_pr.py", "report_conflict.py"])
def test_malformed_report_is_one_line(tmp_path: Path, fake_env: dict[str, str], name: str) -> None:
    write_synthetic(tmp_path / "rep", rebased_report())
    (tmp_path / "rep" / "report.json").write_text('{"project": "litellm", ')
    done = script(name, "--dry-run", "--report-dir", str(tmp_path / "rep"), env=fake_env)
    one_line_error(done, 2, "not valid JSON")


def test_report_fields_that_would_make_odd_branch_names_are_refused(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    report = rebased_report()
    report.steps[0].to_version = "1.82.0 --force"
    write_synthetic(tmp_path / "rep", report)
    done = script(
        "open_rebase_pr.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=fake_env
    )
    one_line_error(done, 2, "not a plain name or version")


# --- open_rebase_pr.py: a real git repository, a bare remote and a fake gh -----------------------


@pytest.fixture
def repo(tmp_path: Path, fake_env: dict[str, str]) -> Path:
    """A clone of a bare `origin` with main holding a pin and a series, as the fork would."""
    origin, clone = tmp_path / "origin.git", tmp_path / "clone"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "clone", "--quiet", str(origin), str(clone)], check=True, env=fake_env)
    (clone / "upstream").mkdir()
    (clone / "upstream" / "pin.toml").write_text('version = "1.81.12"\n')
    (clone / "patches").mkdir()
    (clone / "patches" / "series").write_text("0001-a.patch\n")
    (clone / "patches" / "0001-a.patch").write_text("old patch\n")
    (clone / "README.md").write_text("fork\n")
    git(clone, "symbolic-ref", "HEAD", "refs/heads/main")
    git(clone, "add", ".")
    git(clone, "commit", "--quiet", "-m", "initial")
    git(clone, "push", "--quiet", "origin", "main")
    return clone


def rebase_changes(clone: Path) -> None:
    """What a successful rebase leaves in the work tree (or `git apply` of its diff)."""
    git(clone, "checkout", "--quiet", "main")
    (clone / "upstream" / "pin.toml").write_text('version = "1.82.0"\n')
    (clone / "patches" / "0001-a.patch").write_text("ported patch\n")
    (clone / "docs" / "rebases").mkdir(parents=True, exist_ok=True)
    (clone / "docs" / "rebases" / "1.81.12-to-1.82.0.md").write_text("# report\n")


def remote_head(clone: Path, branch: str) -> str:
    out = git(clone, "ls-remote", "origin", f"refs/heads/{branch}").split()
    return out[0] if out else ""


BRANCH = "upstream/rebase-1.82.0"


def test_pr_commits_pushes_and_opens(tmp_path: Path, fake_env: dict[str, str], repo: Path) -> None:
    markdown = write_synthetic(tmp_path / "rep", rebased_report())
    main_before = remote_head(repo, "main")
    rebase_changes(repo)
    args = (
        "--report-dir",
        str(tmp_path / "rep"),
        "--root",
        str(repo),
        "--dispatch-workflow",
        "test.yml",
    )
    done = script("open_rebase_pr.py", *args, env=fake_env)
    assert done.returncode == 0, done.stderr
    tip = remote_head(repo, BRANCH)
    assert tip and remote_head(repo, "main") == main_before
    assert git(repo, "show", f"{tip}:upstream/pin.toml") == 'version = "1.82.0"\n'
    assert git(repo, "show", f"{tip}:docs/rebases/1.81.12-to-1.82.0.md") == "# report\n"
    assert git(repo, "rev-parse", f"{tip}^") == git(repo, "rev-parse", main_before)
    message = git(repo, "log", "-1", "--format=%B", tip)
    assert message.startswith("Rebase litellm 1.81.12 → 1.82.0\n") and MARKER in message
    made = calls(fake_env)
    assert [c["args"][:2] for c in made] == [["pr", "list"], ["pr", "create"], ["workflow", "run"]]
    create = made[1]["args"]
    assert create[create.index("--head") + 1] == BRANCH
    assert create[create.index("--base") + 1] == "main"
    assert create[create.index("--title") + 1] == "Rebase litellm 1.81.12 → 1.82.0"
    assert "--draft" not in create
    assert made[1]["body"] == markdown
    assert made[2]["args"] == ["workflow", "run", "test.yml", "--ref", BRANCH]
    assert "pr_url=https://github.invalid/owner/fork/pull/12" in done.stdout


def test_pr_rerun_with_the_same_rebase_pushes_nothing(
    tmp_path: Path, fake_env: dict[str, str], repo: Path
) -> None:
    markdown = write_synthetic(tmp_path / "rep", rebased_report())
    rebase_changes(repo)
    args = (
        "--report-dir",
        str(tmp_path / "rep"),
        "--root",
        str(repo),
        "--dispatch-workflow",
        "test.yml",
    )
    assert script("open_rebase_pr.py", *args, env=fake_env).returncode == 0
    first = remote_head(repo, BRANCH)
    Path(fake_env["FAKE_LOG"]).unlink()
    rebase_changes(repo)  # the next day's run: a fresh checkout of main, the same rebase
    title = "Rebase litellm 1.81.12 → 1.82.0"
    fake_env["FAKE_LIST"] = json.dumps(
        [{"number": 12, "title": title, "body": markdown, "url": "u"}]
    )
    done = script("open_rebase_pr.py", *args, env=fake_env)
    assert done.returncode == 0, done.stderr
    assert remote_head(repo, BRANCH) == first
    assert [c["args"][:2] for c in calls(fake_env)] == [["pr", "list"]]


def test_pr_updates_its_own_branch_but_not_a_human_one(
    tmp_path: Path, fake_env: dict[str, str], repo: Path
) -> None:
    write_synthetic(tmp_path / "rep", rebased_report())
    rebase_changes(repo)
    args = ("--report-dir", str(tmp_path / "rep"), "--root", str(repo))
    assert script("open_rebase_pr.py", *args, env=fake_env).returncode == 0
    rebase_changes(repo)
    (repo / "patches" / "0001-a.patch").write_text("ported differently\n")
    fake_env["FAKE_LIST"] = json.dumps([{"number": 12, "title": "t", "body": "b", "url": "u"}])
    assert script("open_rebase_pr.py", *args, env=fake_env).returncode == 0
    tip = remote_head(repo, BRANCH)
    assert git(repo, "show", f"{tip}:patches/0001-a.patch") == "ported differently\n"
    assert [c["args"][:3] for c in calls(fake_env)][-1] == ["pr", "edit", "12"]

    git(repo, "commit", "--quiet", "--allow-empty", "-m", "a maintainer's fix on the branch")
    git(repo, "push", "--quiet", "origin", f"HEAD:refs/heads/{BRANCH}")
    human = remote_head(repo, BRANCH)
    rebase_changes(repo)
    (repo / "patches" / "0001-a.patch").write_text("ported a third way\n")
    done = script("open_rebase_pr.py", *args, env=fake_env)
    one_line_error(done, 1, "did not make", "not overwriting")
    assert remote_head(repo, BRANCH) == human


def test_pr_with_nothing_to_commit_is_one_line(
    tmp_path: Path, fake_env: dict[str, str], repo: Path
) -> None:
    write_synthetic(tmp_path / "rep", rebased_report())
    done = script(
        "open_rebase_pr.py",
        "--report-dir",
        str(tmp_path / "rep"),
        "--root",
        str(repo),
        env=fake_env,
    )
    one_line_error(done, 2, "nothing changed")
    assert calls(fake_env) == []
