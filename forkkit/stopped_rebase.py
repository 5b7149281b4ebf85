"""The two ways out of a rebase stopped at a conflict: --continue finishes it, --abort undoes it.

--continue runs after a human ported the conflicting patch (or dropped it): it lets `git am`
apply the queued patches, moves the pin to the release the rebase stopped at, exports the
series, restarts the release revision and marks the report (`ported`, then `continued`).
--abort puts the pin, patches/ and the checkout back exactly as they were before the rebase.
"""

from __future__ import annotations

from pathlib import Path

from forkkit import gitutil
from forkkit.apply import apply
from forkkit.checkout import PATCHED_BRANCH
from forkkit.errors import ForkKitError
from forkkit.export import write_series_from_checkout
from forkkit.pin import load_pin
from forkkit.project import Project
from forkkit.rebase import describe_changes
from forkkit.rebase_state import Saved, clear_saved, load_saved
from forkkit.release import bump
from forkkit.report import RebaseReport, load_report, write_report
from forkkit.series import load_series


def continue_rebase(project: Project) -> RebaseReport | None:
    checkout = project.checkout_dir
    saved = _stopped(checkout)
    if not saved.new_pin_text:
        raise ForkKitError("the rebase did not stop at a conflict; nothing to continue")
    if gitutil.am_in_progress(checkout):
        _am_continue(checkout)
    project.pin_file.write_text(saved.new_pin_text)
    write_series_from_checkout(project)
    bump(project.release_file, load_series(project.series_file), reset=True)
    report = _mark_ported(project, saved)
    clear_saved(checkout)
    return report


def abort(project: Project) -> None:
    checkout = project.checkout_dir
    saved = _stopped(checkout)
    if gitutil.am_in_progress(checkout):
        gitutil.run(checkout, "am", "--abort")
    gitutil.run(checkout, "reset", "--quiet", "--hard")
    gitutil.run(checkout, "checkout", "--quiet", "-B", PATCHED_BRANCH, saved.head)
    for tag in saved.tags:
        gitutil.run_unchecked(checkout, "tag", "-d", tag)
    project.pin_file.write_text(saved.pin_text)
    project.release_file.write_text(saved.release_text)
    for stale in project.patches_dir.glob("*.patch"):
        if stale.name not in saved.patches:
            stale.unlink()
    for name, text in saved.patches.items():
        (project.patches_dir / name).write_bytes(text.encode())
    clear_saved(checkout)
    apply(project)  # records the restored state, so the next apply is a no-op


def _stopped(checkout: Path) -> Saved:
    saved = load_saved(checkout) if gitutil.open_repo(checkout) else None
    if saved is None:
        raise ForkKitError("no rebase in progress")
    return saved


def _am_continue(checkout: Path) -> None:
    """Commit the port and apply the queued patches; a later conflict stops here again."""
    status, _, err = gitutil.run_unchecked(checkout, "am", "--continue")
    if status != 0:
        raise ForkKitError(
            f"`git am --continue` stopped in {checkout}: {gitutil.last_line(err)}; "
            "resolve and `git add` the files, then `nox -s rebase -- --continue` again"
        )


def _mark_ported(project: Project, saved: Saved) -> RebaseReport | None:
    report = load_report(project.root)
    if report is None or report.result != "conflict":
        return report
    renamed = {"conflict": "ported", "not-reached": "continued"}
    for outcome in report.steps[-1].outcomes:
        outcome.status = renamed.get(outcome.status, outcome.status)
    report.steps[-1].conflict = False
    if saved.step_head:  # the range-diff of the step the human finished
        new_tag = load_pin(project.pin_file).upstream_tag
        describe_changes(project.checkout_dir, report.steps[-1], saved.step_range(), new_tag)
    report.result, report.next_steps = "rebased", []
    write_report(project.root, report)
    return report
