"""apply: materialise the pinned checkout and apply the series on branch `patched`."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from forkkit import gitutil
from forkkit.checkout import PATCHED_BRANCH
from forkkit.errors import ForkKitError
from forkkit.interrupted import interrupted, recover, rewriting
from forkkit.pin import Pin, load_pin
from forkkit.pipeline import locked, materialise
from forkkit.project import Project
from forkkit.rebase_state import refuse_if_rebasing
from forkkit.series import Series, load_series, series_digest
from forkkit.state import AppliedState, read_state, write_state


@dataclass(frozen=True)
class ApplyResult:
    checkout: Path
    applied: bool  # False when the checkout already matched pin + series
    notes: tuple[str, ...] = ()


def apply(project: Project, force: bool = False) -> ApplyResult:
    pin = load_pin(project.pin_file)
    series = load_series(project.series_file)
    with locked(project):
        checkout = materialise(project, pin)
        return _apply_locked(checkout, pin, series, force)


def _apply_locked(checkout: Path, pin: Pin, series: Series, force: bool) -> ApplyResult:
    base = gitutil.rev(checkout, f"{pin.upstream_tag}^{{commit}}") or ""
    state = read_state(checkout)
    notes = recover(checkout, base, state.head if state else None)  # a killed run's leftovers
    refuse_if_rebasing(checkout, "apply")
    refuse_if_am_in_progress(checkout)
    wanted = series_digest(pin, series)
    if _up_to_date(checkout, state, wanted):
        return ApplyResult(checkout, applied=False, notes=tuple(notes))
    notes += _keep_uncommitted_edits(checkout, force)
    notes += _keep_unrecorded_commits(checkout, state, force)
    before = gitutil.rev(checkout, f"refs/heads/{PATCHED_BRANCH}")
    with rewriting(checkout, PATCHED_BRANCH, base, before):  # a run killed in here is redone
        gitutil.run(checkout, "checkout", "--quiet", "-B", PATCHED_BRANCH, pin.upstream_tag)
        am_series(checkout, pin, series)
        write_state(checkout, AppliedState(wanted, _head(checkout)))
    return ApplyResult(checkout, applied=True, notes=tuple(notes))


def _head(checkout: Path) -> str:
    return gitutil.rev(checkout, "HEAD") or ""


def _up_to_date(checkout: Path, state: AppliedState | None, wanted: str) -> bool:
    return (
        state is not None
        and state.digest == wanted
        and gitutil.current_branch(checkout) == PATCHED_BRANCH
        and _head(checkout) == state.head
        and not gitutil.is_dirty(checkout)
    )


def refuse_if_am_in_progress(checkout: Path) -> None:
    if gitutil.am_in_progress(checkout) and interrupted(checkout):
        raise ForkKitError(
            f"an interrupted apply left a `git am` in {checkout}; run `nox -s apply` to redo it"
        )
    if gitutil.am_in_progress(checkout):
        raise ForkKitError(
            f"a `git am` is stopped in {checkout}: resolve the conflict, `git add` the files, "
            f"`git -C {checkout} am --continue`, then `nox -s export` "
            f"(or `git -C {checkout} am --abort` to give up)"
        )


def _keep_uncommitted_edits(checkout: Path, force: bool) -> list[str]:
    if not gitutil.is_dirty(checkout):
        return []
    if not force:
        raise ForkKitError(
            f"{checkout} has uncommitted edits; commit them and run `nox -s export` to keep them "
            f"in the series, or `nox -s apply -- --force` to stash them first"
        )
    label = f"forkkit apply --force {time.strftime('%Y-%m-%d %H:%M:%S')}"
    gitutil.run(checkout, "stash", "push", "--include-untracked", "--quiet", "-m", label)
    return [f"stashed uncommitted edits as '{label}' (git -C {checkout} stash list)"]


def _keep_unrecorded_commits(checkout: Path, state: AppliedState | None, force: bool) -> list[str]:
    tip = gitutil.rev(checkout, f"refs/heads/{PATCHED_BRANCH}")
    if tip is None or (state is not None and tip == state.head):
        return []
    extra = _unrecorded(checkout, state, tip)
    if not extra:
        return []
    if not force:
        subjects = "; ".join(gitutil.subject(checkout, c) for c in extra[:3])
        raise ForkKitError(
            f"{checkout} has {len(extra)} commit(s) on '{PATCHED_BRANCH}' not in the series "
            f"({subjects}); run `nox -s export` to keep them in patches/, or "
            f"`nox -s apply -- --force` to set them aside on a backup branch"
        )
    backup = f"{PATCHED_BRANCH}-backup-{time.strftime('%Y%m%d-%H%M%S')}"
    gitutil.run(checkout, "branch", "--force", backup, tip)
    return [f"kept the commits not in the series on branch {backup}"]


def _unrecorded(checkout: Path, state: AppliedState | None, tip: str) -> list[str]:
    """Commits on tip that neither an upstream import nor the last apply/export produced."""
    if state is not None and gitutil.is_ancestor(checkout, state.head, tip):
        return gitutil.commits_between(checkout, state.head, tip)
    return gitutil.commits_not_in_upstream(checkout, tip)


def am_series(checkout: Path, pin: Pin, series: Series) -> None:
    if not series.names:
        return
    paths = [str(path.resolve()) for path in series.paths()]
    status, _, err = gitutil.run_unchecked(checkout, *gitutil.AM, "--3way", "--quiet", *paths)
    if status != 0:
        raise ForkKitError(describe_am_failure(checkout, pin, series, err))


def describe_am_failure(checkout: Path, pin: Pin, series: Series, am_stderr: str) -> str:
    position = int((gitutil.git_dir(checkout) / "rebase-apply" / "next").read_text().strip())
    patch = series.paths()[position - 1]
    where = "; ".join(failing_hunks(checkout, patch)) or gitutil.last_line(am_stderr)
    conflicts = gitutil.run(checkout, "diff", "--name-only", "--diff-filter=U").split()
    merged = f" (3-way merge left conflict markers in {', '.join(conflicts)})" if conflicts else ""
    return (
        f"patch {patch.name} does not apply to {pin.project} {pin.version}: {where}{merged}; "
        f"{checkout} is stopped mid-`git am` for inspection: resolve, `git add`, "
        f"`git -C {checkout} am --continue`, then `nox -s export` "
        f"(or `git -C {checkout} am --abort`)"
    )


_FAILED = re.compile(r"^error: patch failed: (.+):(\d+)$", re.MULTILINE)
_MISSING = re.compile(r"^error: (.+): (does not exist in index|No such file or directory)$", re.M)


def failing_hunks(checkout: Path, patch: Path) -> list[str]:
    """'file hunk #n @@ … @@' for each hunk `git apply` cannot place on the current HEAD."""
    _, _, err = gitutil.run_unchecked(checkout, "apply", "--check", "--verbose", str(patch))
    text = patch.read_text(errors="replace")
    found = [f"{name} (file missing)" for name, _ in _MISSING.findall(err)]
    for name, line in _FAILED.findall(err):
        found.append(f"{name} {hunk_at(text, name, int(line))}")
    return found


def hunk_at(patch_text: str, filename: str, old_start: int) -> str:
    section = patch_text.split(f"--- a/{filename}\n", 1)[-1].split("\ndiff --git ", 1)[0]
    headers = re.findall(r"^@@ -(\d+)(?:,\d+)? .*$", section, re.MULTILINE)
    lines = re.findall(r"^(@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@).*$", section, re.MULTILINE)
    for number, (start, header) in enumerate(zip(headers, lines, strict=True), 1):
        if int(start) == old_start:
            return f"hunk #{number} {header}"
    return f"hunk at line {old_start}"
