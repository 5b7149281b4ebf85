"""rebase over synthetic releases: every way a patch can fare, and the ways out of a conflict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forkkit.apply import apply
from forkkit.drop import drop
from forkkit.errors import ForkKitError
from forkkit.export import export
from forkkit.pin import load_pin
from forkkit.project import Project
from forkkit.rebase import rebase
from forkkit.release import load_release
from forkkit.report import report_paths
from forkkit.series import load_series
from forkkit.stopped_rebase import abort, continue_rebase
from tests.toolkit.fakes import FakeIndex, git
from tests.toolkit.rebasing import (
    HEADERS,
    author,
    publish,
    snapshot,
    statuses,
)


def test_clean_rebase_moves_pin_series_and_revision(project: Project, index: FakeIndex) -> None:
    checkout = author(project)
    publish(index, "1.1", HEADERS)
    rebase(project, "1.1")
    assert statuses(project) == [
        ("1.1", "headers-spell-out-line-five", "clean"),
        ("1.1", "headers-spell-out-line-thirty", "clean"),
    ]
    assert load_pin(project.pin_file).version == "1.1"
    assert load_release(project.release_file).local_version() == "fork.1"
    assert git(checkout, "log", "--format=%s", "-1", "upstream/1.1^").strip() == "Import demo 1.0"
    assert apply(project).applied is False
    assert "# Rebase demo 1.0 → 1.1: rebased" in report_paths(project.root)[0].read_text()


def test_offset_is_reported(project: Project, index: FakeIndex) -> None:
    author(project)
    publish(index, "1.1", "new 1\nnew 2\nnew 3\n" + HEADERS)
    rebase(project, "latest")
    assert [s for _, _, s in statuses(project)] == ["offset", "offset"]


def test_changed_context_needs_a_three_way_merge(project: Project, index: FakeIndex) -> None:
    author(project)
    publish(index, "1.1", HEADERS.replace("line 3\n", "line 3 reworded\n"))
    rebase(project, "1.1")
    assert [s for _, _, s in statuses(project)] == ["3-way", "clean"]
    assert "line five" in (project.checkout_dir / "demo/headers.py").read_text()


def test_change_already_in_the_release_is_dropped(project: Project, index: FakeIndex) -> None:
    author(project)
    publish(index, "1.1", HEADERS.replace("line 5\n", "line five\n"))
    rebase(project, "1.1")
    assert [s for _, _, s in statuses(project)] == ["already-upstream", "clean"]
    assert load_series(project.series_file).names == ("headers-spell-out-line-thirty.patch",)


def test_applied_upstream_header_drops_the_patch(project: Project, index: FakeIndex) -> None:
    author(project, five_trailer="Applied-Upstream: 1.1\n")
    publish(index, "1.1", HEADERS)
    rebase(project, "1.1")
    assert [s for _, _, s in statuses(project)] == ["already-upstream", "clean"]


def conflicting_rebase(project: Project, index: FakeIndex) -> Path:
    checkout = author(project)
    publish(index, "1.1", HEADERS.replace("line 5\n", "line 5 upstream\n"))
    with pytest.raises(ForkKitError, match=r"headers-spell-out-line-five\.patch conflicts"):
        rebase(project, "1.1")
    return checkout


def test_conflict_leaves_markers_and_touches_nothing(project: Project, index: FakeIndex) -> None:
    checkout = author(project)
    before = snapshot(project)
    publish(index, "1.1", HEADERS.replace("line 5\n", "line 5 upstream\n"))
    with pytest.raises(ForkKitError) as failure:
        rebase(project, "1.1")
    assert "\n" not in str(failure.value)
    assert snapshot(project) == before
    assert "<<<<<<<" in (checkout / "demo/headers.py").read_text()
    assert statuses(project) == [
        ("1.1", "headers-spell-out-line-five", "conflict"),
        ("1.1", "headers-spell-out-line-thirty", "not-reached"),
    ]
    report = report_paths(project.root)[0].read_text()
    assert "demo/headers.py hunk #1" in report and "nox -s rebase -- --continue" in report


@pytest.mark.parametrize("human_ran_am_continue", [False, True])
def test_resolved_conflict_is_finished_by_continue(
    project: Project, index: FakeIndex, human_ran_am_continue: bool
) -> None:
    checkout = conflicting_rebase(project, index)
    (checkout / "demo/headers.py").write_text(HEADERS.replace("line 5\n", "line five (ported)\n"))
    git(checkout, "add", "demo/headers.py")
    if human_ran_am_continue:
        git(checkout, "am", "--continue")
    continue_rebase(project)
    assert load_pin(project.pin_file).version == "1.1"
    assert load_release(project.release_file).local_version() == "fork.1"
    assert json.loads(report_paths(project.root)[1].read_text())["result"] == "rebased"
    assert statuses(project) == [
        ("1.1", "headers-spell-out-line-five", "ported"),
        ("1.1", "headers-spell-out-line-thirty", "continued"),
    ]
    text = (checkout / "demo/headers.py").read_text()
    assert "line five (ported)" in text and "line thirty" in text
    assert apply(project).applied is False


def test_continue_before_the_port_is_one_line(project: Project, index: FakeIndex) -> None:
    conflicting_rebase(project, index)
    with pytest.raises(ForkKitError, match=r"`git am --continue` stopped in .*--continue` again"):
        continue_rebase(project)
    assert load_pin(project.pin_file).version == "1.0"


def test_export_waits_for_a_stopped_rebase(project: Project, index: FakeIndex) -> None:
    conflicting_rebase(project, index)
    with pytest.raises(ForkKitError, match=r"export waits until `nox -s rebase -- --continue`"):
        export(project)


def test_abort_restores_everything(project: Project, index: FakeIndex) -> None:
    checkout = author(project)
    before, head = snapshot(project), git(checkout, "rev-parse", "HEAD")
    publish(index, "1.1", HEADERS.replace("line 5\n", "line 5 upstream\n"))
    with pytest.raises(ForkKitError):
        rebase(project, "1.1")
    abort(project)
    assert snapshot(project) == before
    assert git(checkout, "rev-parse", "HEAD") == head
    assert git(checkout, "tag", "--list").split() == ["upstream/1.0"]
    assert apply(project).applied is False


def test_drop_the_conflicting_patch(project: Project, index: FakeIndex) -> None:
    conflicting_rebase(project, index)
    drop(project, "headers-spell-out-line-five.patch", "upstream rewrote line 5")
    continue_rebase(project)
    assert load_series(project.series_file).names == ("headers-spell-out-line-thirty.patch",)
    assert ("1.1", "headers-spell-out-line-five", "dropped") in statuses(project)
    assert load_pin(project.pin_file).version == "1.1"


def test_through_stops_at_the_first_breaking_release(project: Project, index: FakeIndex) -> None:
    author(project)
    publish(index, "1.1", HEADERS)
    publish(index, "1.2", HEADERS.replace("line 30\n", "line 30 upstream\n"))
    publish(index, "1.3", HEADERS)
    with pytest.raises(ForkKitError, match=r"rebase onto 1\.2 stopped"):
        rebase(project, "1.3", through=True)
    assert [(v, s) for v, _, s in statuses(project)] == [
        ("1.1", "clean"),
        ("1.1", "clean"),
        ("1.2", "clean"),
        ("1.2", "conflict"),
    ]


def test_unknown_target_is_one_line(project: Project, index: FakeIndex) -> None:
    author(project)
    with pytest.raises(ForkKitError, match=r"has no release newer than 1\.0"):
        rebase(project, "latest")
    publish(index, "1.1", HEADERS)
    with pytest.raises(ForkKitError, match=r"7\.0 is not a release newer than 1\.0"):
        rebase(project, "7.0")
