"""ci/upstream_check.py and ci/run_rebase.py over synthetic releases on the loopback index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from forkkit.apply import apply
from forkkit.export import export
from forkkit.project import Project
from forkkit.release import bump
from forkkit.series import load_series
from tests.toolkit.ci_scripts import (
    HEADERS,
    body_of,
    field,
    one_line_error,
    outputs,
    script,
)
from tests.toolkit.fakes import BASE_FILES, PATCH_MESSAGE, FakeIndex, commit_edit, git, make_sdist

# --- upstream_check.py and run_rebase.py over synthetic releases ---------------------------------


def publish(index: FakeIndex, version: str, headers: str = HEADERS) -> None:
    files = {**BASE_FILES, "demo/headers.py": headers, "demo/__init__.py": f"V = '{version}'\n"}
    index.publish("demo", version, make_sdist("demo", version, files))


def test_check_finds_the_newest_release(project: Project, index: FakeIndex, tmp_path: Path) -> None:
    publish(index, "1.1")
    publish(index, "1.2")
    out_file = tmp_path / "github_output"
    env = {**os.environ, "GITHUB_OUTPUT": str(out_file)}
    done = script("upstream_check.py", "--root", str(project.root), env=env)
    assert done.returncode == 0, done.stderr
    assert outputs(done.stdout) == {"new_release": "true", "target": "1.2", "pinned": "1.0"}
    assert out_file.read_text() == "new_release=true\ntarget=1.2\npinned=1.0\n"

    out_file.unlink()
    done = script(
        "upstream_check.py", "--root", str(project.root), "--target", "1.1", "--dry-run", env=env
    )
    assert outputs(done.stdout)["target"] == "1.1"
    assert not out_file.exists()


def test_check_with_nothing_newer_says_false(project: Project, index: FakeIndex) -> None:
    done = script("upstream_check.py", "--root", str(project.root))
    assert done.returncode == 0, done.stderr
    assert outputs(done.stdout) == {"new_release": "false", "target": "", "pinned": "1.0"}


@pytest.mark.parametrize("target", ["1.0", "0.9", "banana"])
def test_check_refuses_a_target_that_is_not_newer(
    project: Project, index: FakeIndex, target: str
) -> None:
    publish(index, "1.1")
    done = script("upstream_check.py", "--root", str(project.root), "--target", target)
    one_line_error(done, 2)


def authored(project: Project, edit: tuple[str, str] = ("line 5\n", "line five\n")) -> None:
    """One patch in the series, and the project committed in its own git repository."""
    checkout = apply(project).checkout
    commit_edit(checkout, "demo/headers.py", *edit, PATCH_MESSAGE.format(subject="spell out five"))
    export(project)
    bump(project.release_file, load_series(project.series_file))
    git(project.root, "init", "--quiet", "-b", "main")
    (project.root / ".gitignore").write_text("/.work/\n")
    git(project.root, "add", ".")
    git(project.root, "commit", "--quiet", "-m", "fork")


def test_rebase_success_exports_the_diff_and_feeds_the_pr(
    project: Project, index: FakeIndex, tmp_path: Path
) -> None:
    authored(project)
    publish(index, "1.1")
    out = tmp_path / "out"
    args = ("1.1", "--root", str(project.root), "--no-tests", "--export-dir", str(out))
    done = script("run_rebase.py", *args)
    assert done.returncode == 0, done.stderr
    assert outputs(done.stdout) == {"result": "rebased", "version": "1.1", "tests": "not run"}
    diff = (out / "changes.diff").read_text()
    assert "upstream/pin.toml" in diff and '+version = "1.1"' in diff
    assert "docs/rebases/1.0-to-1.1.md" in diff
    assert (out / "report.md").read_text() == (project.root / ".work/rebase/report.md").read_text()

    pr = script("open_rebase_pr.py", "--dry-run", "--report-dir", str(out))
    assert pr.returncode == 0, pr.stderr
    assert field(pr.stdout, "title") == "Rebase demo 1.0 → 1.1"
    assert field(pr.stdout, "branch") == "upstream/rebase-1.1"
    assert body_of(pr.stdout) == (out / "report.md").read_text()
    assert script("report_conflict.py", "--dry-run", "--report-dir", str(out)).returncode == 2


def test_rebase_conflict_is_an_outcome_and_feeds_the_issue(
    project: Project, index: FakeIndex, tmp_path: Path
) -> None:
    authored(project)
    publish(index, "1.1", HEADERS.replace("line 5\n", "line 5 upstream\n"))
    out = tmp_path / "out"
    args = ("1.1", "--root", str(project.root), "--no-tests", "--export-dir", str(out))
    done = script("run_rebase.py", *args)
    assert done.returncode == 0, done.stderr
    assert outputs(done.stdout) == {"result": "conflict", "version": "1.1", "tests": "not run"}
    assert not (out / "changes.diff").exists()

    issue = script("report_conflict.py", "--dry-run", "--report-dir", str(out))
    assert issue.returncode == 0, issue.stderr
    assert field(issue.stdout, "title") == "Upstream rebase conflict: demo 1.0 → 1.1"
    assert field(issue.stdout, "conflicts") == "spell-out-five.patch"
    assert body_of(issue.stdout) == (out / "report.md").read_text()
    assert "CONFLICT" in body_of(issue.stdout)
    assert script("open_rebase_pr.py", "--dry-run", "--report-dir", str(out)).returncode == 2


def test_rebase_without_a_report_fails_in_one_line(project: Project, index: FakeIndex) -> None:
    done = script("run_rebase.py", "latest", "--root", str(project.root), "--no-tests")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("error: the rebase failed before")
    assert "Traceback" not in done.stderr


def test_rebase_dry_run_runs_nothing(project: Project, index: FakeIndex) -> None:
    publish(index, "1.1")
    done = script("run_rebase.py", "1.1", "--root", str(project.root), "--dry-run", "--through")
    assert done.returncode == 0, done.stderr
    assert "-s rebase -- 1.1 --record --through" in done.stdout
    quick = script("run_rebase.py", "1.1", "--root", str(project.root), "--dry-run", "--no-tests")
    assert "-m forkkit --root" in quick.stdout and "rebase 1.1 --record" in quick.stdout
    assert not (project.root / ".work" / "rebase").exists()
