"""apply and export over a synthetic release: idempotence, round trip, refusals, failures."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from forkkit.apply import apply
from forkkit.check import out_of_sync
from forkkit.errors import ForkKitError
from forkkit.export import export
from forkkit.patch import read_patch
from forkkit.pin import Pin
from forkkit.project import Project
from forkkit.release import bump, load_release
from forkkit.series import load_series
from tests.toolkit.fakes import (
    BASE_FILES,
    PATCH_MESSAGE,
    FakeIndex,
    commit_edit,
    git,
    make_project,
    make_sdist,
)


def author_two_patches(project: Project) -> Path:
    checkout = apply(project).checkout
    commit_edit(
        checkout,
        "demo/headers.py",
        "line 5\n",
        "line five\n",
        PATCH_MESSAGE.format(subject="headers: spell out line five"),
    )
    commit_edit(
        checkout,
        "demo/headers.py",
        "line 30\n",
        "line thirty\n",
        PATCH_MESSAGE.format(subject="Headers: Spell out line 30!"),
    )
    assert export(project) == [
        "headers-spell-out-line-five.patch",
        "headers-spell-out-line-30.patch",
        "series",
    ]
    bump(project.release_file, load_series(project.series_file))
    return checkout


def test_apply_twice_is_a_no_op(project: Project) -> None:
    author_two_patches(project)
    first = apply(project)
    head = git(first.checkout, "rev-parse", "HEAD")
    second = apply(project)
    assert first.applied is False and second.applied is False
    assert git(second.checkout, "rev-parse", "HEAD") == head


def test_fresh_apply_then_export_changes_nothing(project: Project) -> None:
    checkout = author_two_patches(project)
    before = {p.name: p.read_bytes() for p in project.patches_dir.iterdir()}
    subprocess.run(["rm", "-rf", str(checkout)], check=True)
    assert apply(project).applied is True
    assert export(project) == []
    assert {p.name: p.read_bytes() for p in project.patches_dir.iterdir()} == before
    assert out_of_sync(project) == []


def test_export_is_normalised(project: Project) -> None:
    author_two_patches(project)
    path = project.patches_dir / "headers-spell-out-line-five.patch"
    text = path.read_text()
    assert text.startswith("From 0000000000000000000000000000000000000000 ")
    assert "\nDate: " not in text
    assert "\n-- \n" not in text  # no git version signature
    assert read_patch(path).dep3 == {
        "Origin": "vendor",
        "Forwarded": "no",
        "Applied-Upstream": "no",
        "Last-Update": "2026-11-23",
    }


def test_changed_series_is_reapplied(project: Project) -> None:
    checkout = author_two_patches(project)
    (project.patches_dir / "series").write_text("headers-spell-out-line-five.patch\n")
    assert apply(project).applied is True
    assert "line thirty" not in (checkout / "demo/headers.py").read_text()
    assert "line five" in (checkout / "demo/headers.py").read_text()


def test_uncommitted_edits_are_refused_and_kept(project: Project) -> None:
    checkout = author_two_patches(project)
    (checkout / "README.md").write_text("my work in progress\n")
    with pytest.raises(ForkKitError, match=r"uncommitted edits.*export.*--force"):
        apply(project)
    assert (checkout / "README.md").read_text() == "my work in progress\n"


def test_force_stashes_uncommitted_edits(project: Project) -> None:
    checkout = author_two_patches(project)
    (checkout / "README.md").write_text("my work in progress\n")
    (project.patches_dir / "series").write_text("")
    result = apply(project, force=True)
    assert any("stash" in note for note in result.notes)
    assert "forkkit apply --force" in git(checkout, "stash", "list")


def test_unrecorded_commits_are_refused_then_backed_up(project: Project) -> None:
    checkout = author_two_patches(project)
    commit_edit(checkout, "README.md", "demo", "DEMO", "readme: shout")
    with pytest.raises(ForkKitError, match=r"1 commit\(s\).*readme: shout.*export"):
        apply(project)
    result = apply(project, force=True)
    backup = next(note for note in result.notes if "backup" in note).split()[-1]
    assert git(checkout, "log", "-1", "--format=%s", backup).strip() == "readme: shout"
    assert "DEMO" not in (checkout / "README.md").read_text()


def test_failing_patch_names_patch_file_and_hunk(project: Project) -> None:
    author_two_patches(project)
    patch = project.patches_dir / "headers-spell-out-line-30.patch"
    patch.write_text(patch.read_text().replace(" line 31\n", " line 31 was edited\n"))
    with pytest.raises(ForkKitError) as failure:
        apply(project)
    message = str(failure.value)
    assert "\n" not in message
    assert "headers-spell-out-line-30.patch" in message
    assert "demo/headers.py hunk #1 @@ -27,7 +27,7 @@" in message
    assert "am --continue" in message and "am --abort" in message
    with pytest.raises(ForkKitError, match=r"git am. is stopped"):
        apply(project)


def test_three_way_conflict_leaves_markers_for_a_human(project: Project) -> None:
    checkout = author_two_patches(project)
    git(checkout, "checkout", "--quiet", "upstream/1.0", "--", ".")
    (project.patches_dir / "0003-x.patch").write_text(
        (project.patches_dir / "headers-spell-out-line-five.patch")
        .read_text()
        .replace("+line five", "+line FIVE")
    )
    git(checkout, "checkout", "--quiet", "patched", "--", ".")
    series = project.series_file.read_text() + "0003-x.patch\n"
    project.series_file.write_text(series)
    with pytest.raises(ForkKitError, match=r"0003-x\.patch.*conflict markers in demo/headers\.py"):
        apply(project)
    assert "<<<<<<<" in (checkout / "demo/headers.py").read_text()


def test_check_accepts_a_hand_edited_message(project: Project) -> None:
    author_two_patches(project)
    patch = project.patches_dir / "headers-spell-out-line-five.patch"
    patch.write_text(patch.read_text().replace("Why this change", "Why exactly this change"))
    bump(project.release_file, load_series(project.series_file))
    assert out_of_sync(project) == []


def test_check_reports_hand_edited_diff_with_stale_blob_ids(project: Project) -> None:
    author_two_patches(project)
    patch = project.patches_dir / "headers-spell-out-line-five.patch"
    patch.write_text(patch.read_text().replace("+line five", "+line 5ive"))
    bump(project.release_file, load_series(project.series_file))
    # the edited patch's post-image id is stale, and so is the next patch's pre-image id
    assert out_of_sync(project) == [
        "headers-spell-out-line-five.patch: differs from what export writes",
        "headers-spell-out-line-30.patch: differs from what export writes",
    ]


def test_check_reports_patch_missing_from_series(project: Project) -> None:
    author_two_patches(project)
    (project.patches_dir / "0009-stray.patch").write_text("stray\n")
    assert out_of_sync(project) == ["0009-stray.patch: in patches/ but not in the series"]


def test_check_reports_series_change_without_release_bump(project: Project) -> None:
    checkout = author_two_patches(project)
    commit_edit(checkout, "README.md", "demo", "DEMO", PATCH_MESSAGE.format(subject="readme"))
    export(project)
    assert out_of_sync(project) == [
        "release.toml: the series changed but release revision 2 did not move; "
        "run `nox -s bump` and commit patches/release.toml"
    ]
    bump(project.release_file, load_series(project.series_file))
    assert out_of_sync(project) == []
    assert load_release(project.release_file).local_version() == "fork.3"


def test_patch_to_a_crlf_file_round_trips(tmp_path: Path, index: FakeIndex) -> None:
    crlf = {**BASE_FILES, "demo/headers.py": BASE_FILES["demo/headers.py"].replace("\n", "\r\n")}
    sha256 = index.publish("demo", "2.0", make_sdist("demo", "2.0", crlf))
    project = make_project(tmp_path / "crlf", Pin("demo", "2.0", "index", sha256=sha256))
    checkout = apply(project).checkout
    commit_edit(
        checkout,
        "demo/headers.py",
        "line 5\r\n",
        "line five\r\n",
        PATCH_MESSAGE.format(subject="headers: crlf edit"),
    )
    export(project)
    patch = project.patches_dir / "headers-crlf-edit.patch"
    assert b"+line five\r\n" in patch.read_bytes()
    subprocess.run(["rm", "-rf", str(checkout)], check=True)
    assert apply(project).applied is True
    assert b"line five\r\nline 6\r\n" in (checkout / "demo/headers.py").read_bytes()
    assert export(project) == []
