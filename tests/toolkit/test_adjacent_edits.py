"""Edits of neighbouring lines are merged; edits of one line stay a conflict."""

from __future__ import annotations

import pytest

from forkkit.adjacent import Edit, merge
from forkkit.errors import ForkKitError
from forkkit.export import export
from forkkit.project import Project
from forkkit.rebase import rebase
from forkkit.release import bump
from forkkit.series import load_series
from tests.toolkit.fakes import PATCH_MESSAGE, FakeIndex, commit_edit
from tests.toolkit.rebasing import HEADERS, author, publish, statuses

BASE = [b"a\n", b"b\n", b"c\n", b"d\n"]


def test_neighbouring_edits_are_both_kept() -> None:
    ours = [Edit(1, 2, (b"B\n",))]  # upstream rewrites b
    theirs = [Edit(0, 1, (b"A\n",)), Edit(2, 2, (b"b2\n",))]  # the patch rewrites a, adds after b
    assert merge(BASE, ours, theirs) == [b"A\n", b"B\n", b"b2\n", b"c\n", b"d\n"]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ([Edit(1, 2, (b"B\n",))], [Edit(1, 2, (b"b!\n",))]),  # one line, two rewrites
        ([Edit(0, 3, (b"x\n",))], [Edit(1, 2, (b"B\n",))]),  # one edit inside the other
        ([Edit(2, 2, (b"x\n",))], [Edit(2, 2, (b"y\n",))]),  # two insertions at one place
        ([Edit(2, 2, (b"x\n",))], [Edit(2, 3, (b"C\n",))]),  # insertion where an edit starts
    ],
)
def test_edits_of_one_line_or_place_are_a_conflict(ours: list[Edit], theirs: list[Edit]) -> None:
    assert merge(BASE, ours, theirs) is None


def test_the_same_edit_on_both_sides_is_taken_once() -> None:
    same = [Edit(1, 2, (b"B\n",))]
    assert merge(BASE, same, same) == [b"a\n", b"B\n", b"c\n", b"d\n"]


def test_rebase_merges_a_patch_whose_neighbour_upstream_rewrote(
    project: Project, index: FakeIndex
) -> None:
    checkout = author(project)
    commit_edit(
        checkout,
        "demo/headers.py",
        "line 12\nline 13\n",
        "line twelve\nline 13\nline 13a\n",
        PATCH_MESSAGE.format(subject="headers: wrap line thirteen"),
    )
    export(project)
    bump(project.release_file, load_series(project.series_file))
    publish(index, "1.1", HEADERS.replace("line 13\n", "line 13 upstream\n"))
    report = rebase(project, "1.1")
    assert [s for _, _, s in statuses(project)] == ["clean", "clean", "3-way"]
    assert "edit neighbouring lines" in report.steps[0].outcomes[2].detail
    text = (checkout / "demo/headers.py").read_text()
    assert "line twelve\nline 13 upstream\nline 13a\n" in text


def test_rewriting_the_patched_line_itself_still_stops(project: Project, index: FakeIndex) -> None:
    author(project)
    publish(index, "1.1", HEADERS.replace("line 5\n", "line 5 upstream\n"))
    with pytest.raises(ForkKitError, match="conflicts"):
        rebase(project, "1.1")
