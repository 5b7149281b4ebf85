"""Killed and concurrent applies: an interrupted run is redone, a conflict stop is not."""

from __future__ import annotations

import os
import signal
import time
from contextlib import suppress
from pathlib import Path

import pytest

from forkkit.apply import apply, refuse_if_am_in_progress
from forkkit.checkout import pristine_repo_path
from forkkit.digest import sha256_of
from forkkit.errors import ForkKitError
from forkkit.fetch import artifact_path
from forkkit.interrupted import MARKER_NAME
from forkkit.pin import Pin, load_pin
from forkkit.project import Project
from forkkit.series import render_series
from tests.toolkit.fakes import BASE_FILES, FakeIndex, git, make_project, make_sdist
from tests.toolkit.faults import (
    WAIT,
    assert_matches_gen_series,
    one_error_line,
    run_cli,
    started,
    wait_for,
    write_gen_series,
)

# --- an interrupted apply is redone; a conflict stop is not ----------------------------------


@pytest.mark.parametrize("kill", ["run-and-its-git", "python-only"])
def test_apply_killed_mid_am_is_redone_by_the_next_run(project: Project, kill: str) -> None:
    """SIGKILL while `git am` is half-way through the series; the next apply finishes the job.

    run-and-its-git: the whole process group dies (git am too, maybe holding index.lock).
    python-only: only the apply process dies; its git am lives on and the next run must wait
    for it instead of racing it.
    """
    apply(project)  # warm: cache and checkout at upstream
    count = 40
    write_gen_series(project, count)
    git_dir = project.checkout_dir / ".git"
    rebase_apply = git_dir / "rebase-apply"

    def am_is_under_way() -> bool:
        with suppress(OSError, ValueError):
            return int((rebase_apply / "next").read_text()) >= 4
        return False

    with started(project, "apply") as proc:
        wait_for("git am got under way", am_is_under_way, proc)
        if kill == "python-only":
            proc.send_signal(signal.SIGKILL)
        else:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=WAIT)
        assert (git_dir / MARKER_NAME).is_file()
        if kill == "run-and-its-git":
            assert rebase_apply.is_dir()  # the kill landed mid-am
            for lock in ("index.lock", "HEAD.lock", "refs/heads/patched.lock"):
                (git_dir / lock).touch()  # as a git killed at the worst moment leaves them
            with pytest.raises(ForkKitError, match="interrupted apply left a `git am`"):
                refuse_if_am_in_progress(project.checkout_dir)  # what export says meanwhile
        result = apply(project)

    assert result.applied is True
    assert "was interrupted" in result.notes[0]
    assert not any("kept commits" in note for note in result.notes)  # they were all the tool's
    assert git(project.checkout_dir, "branch", "--list", "patched-*") == ""
    assert_matches_gen_series(project, count)


def test_interrupted_run_keeps_what_a_human_did_since(project: Project) -> None:
    """After the crash someone edits and commits in the checkout: the redo keeps both."""
    apply(project)
    write_gen_series(project, 40)
    checkout = project.checkout_dir
    rebase_apply = checkout / ".git" / "rebase-apply"
    with started(project, "apply") as proc:
        wait_for("git am got under way", lambda: (rebase_apply / "next").is_file(), proc)
        time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=WAIT)
    for lock in (checkout / ".git").rglob("*.lock"):  # as git's own message advises
        lock.unlink()
    (checkout / "mine.txt").write_text("a human's file\n")
    git(checkout, "add", "mine.txt")
    git(checkout, "commit", "--quiet", "-m", "mine: keep this")
    (checkout / "scratch.txt").write_text("uncommitted notes\n")

    result = apply(project)

    backup = next(n for n in result.notes if "kept commits" in n).split()[-1]
    assert git(checkout, "show", f"{backup}:mine.txt") == "a human's file\n"
    assert any("stashed" in note for note in result.notes)
    assert "left by an interrupted apply" in git(checkout, "stash", "list")
    assert git(checkout, "show", "stash@{0}^3:scratch.txt") == "uncommitted notes\n"
    assert not (checkout / "scratch.txt").exists()
    assert_matches_gen_series(project, 40)


def big_release(index: FakeIndex) -> Pin:
    """A release with enough files that importing and cloning it take a visible moment."""
    files = {**BASE_FILES, **{f"demo/bulk/m{n:04d}.py": f"n = {n}\n" for n in range(600)}}
    sha256 = index.publish("demo", "1.0", make_sdist("demo", "1.0", files))
    return Pin("demo", "1.0", "index", sha256=sha256, artifact="demo-1.0.tar.gz")


@pytest.mark.parametrize("stage", ["importing", "cloning"])
def test_apply_killed_while_materialising_is_redone(
    tmp_path: Path, index: FakeIndex, stage: str
) -> None:
    project = make_project(tmp_path / "big", big_release(index))
    write_gen_series(project, 3)
    repos = project.cache_dir / "repos"
    parent = project.checkout_dir.parent

    def scratch() -> list[Path]:
        if stage == "importing":
            return list(repos.glob(".import-*")) if repos.is_dir() else []
        return list(parent.glob(".demo.staging-*")) if parent.is_dir() else []

    with started(project, "apply") as proc:
        wait_for(f"{stage} began", lambda: bool(scratch()), proc)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=WAIT)
        assert scratch(), "the kill landed after the stage it was meant to interrupt"
        assert not project.checkout_dir.exists()
        result = apply(project)

    assert result.applied is True
    assert scratch() == []  # the dead run's scratch copy is cleared, not left to pile up
    assert [p.name for p in repos.iterdir()] == [
        pristine_repo_path(project.cache_dir, load_pin(project.pin_file)).name
    ]
    assert_matches_gen_series(project, 3)


def test_conflict_stop_is_still_refused_and_left_alone(project: Project) -> None:
    """A `git am` stopped by a conflict is the human's: no marker, refused, nothing reset."""
    apply(project)
    names = write_gen_series(project, 2)
    broken = (
        "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
        "From: Patch Author <author@example.invalid>\n"
        "Subject: [PATCH] headers: edit a line that is not there\n\n---\n\n"
        "diff --git a/demo/headers.py b/demo/headers.py\n"
        "--- a/demo/headers.py\n"
        "+++ b/demo/headers.py\n"
        "@@ -10,3 +10,3 @@\n"
        " line 10\n-no such line\n+line eleven\n line 12\n"
    )
    (project.patches_dir / "0003-broken.patch").write_text(broken)
    project.series_file.write_text(render_series([*names, "0003-broken.patch"]))
    checkout = project.checkout_dir

    first = run_cli(project, "apply")
    assert "0003-broken.patch" in one_error_line(first)
    assert (checkout / ".git" / "rebase-apply").is_dir()
    assert not (checkout / ".git" / MARKER_NAME).exists()
    (checkout / "demo/headers.py").write_text("a human resolving the conflict\n")

    second = run_cli(project, "apply")
    assert "a `git am` is stopped" in one_error_line(second)
    assert (checkout / ".git" / "rebase-apply").is_dir()
    assert (checkout / "demo/headers.py").read_text() == "a human resolving the conflict\n"
    assert git(checkout, "stash", "list") == ""


# --- two applies at once ---------------------------------------------------------------------


@pytest.mark.parametrize("checkouts", ["one-checkout", "two-checkouts"])
def test_two_applies_at_once_share_cache_and_checkout(
    tmp_path: Path,
    project: Project,
    index: FakeIndex,
    release: Pin,
    checkouts: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_gen_series(project, 20)
    other = tmp_path / "other-checkout"
    envs = [{}, {"FORKKIT_CHECKOUT": str(other)} if checkouts == "two-checkouts" else {}]
    with (
        started(project, "apply", env=envs[0]) as first,
        started(project, "apply", env=envs[1]) as second,
    ):
        outs = [proc.communicate(timeout=WAIT) for proc in (first, second)]
        codes = [first.returncode, second.returncode]
    assert codes == [0, 0], outs
    said = sorted(out.split()[0] for out, _ in outs)
    if checkouts == "one-checkout":  # the second waited for the first and found it done
        assert said == ["already", "applied"]
        assert sorted(p.name for p in project.checkout_dir.parent.iterdir()) == ["demo"]
    else:
        assert said == ["applied", "applied"]
    assert index.requests.count("/files/demo-1.0.tar.gz") == 1  # downloaded once, shared
    cached = artifact_path(project.cache_dir, release.sha256, release.artifact)
    assert sha256_of(cached) == release.sha256
    assert not list(cached.parent.glob(".part-*"))
    repos = sorted(p.name for p in (project.cache_dir / "repos").iterdir())
    assert repos == [pristine_repo_path(project.cache_dir, release).name]
    assert_matches_gen_series(project, 20)
    if checkouts == "two-checkouts":
        monkeypatch.setenv("FORKKIT_CHECKOUT", str(other))
        assert_matches_gen_series(project, 20)
