"""One Patch type, read by `git mailinfo`; check-patches enforces DEP-3 provenance."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from forkkit.apply import apply
from forkkit.check import missing_provenance, out_of_sync, unknown_patches
from forkkit.export import export
from forkkit.patch import read_patch
from forkkit.project import Project
from forkkit.release import bump
from forkkit.series import load_series
from tests.toolkit.fakes import PATCH_MESSAGE, commit_edit, git

UMLAUT_SUBJECT = "headers: Zeile fünf ausschreiben — für Grüße"


def author(project: Project, message: str) -> Path:
    checkout = apply(project).checkout
    commit_edit(checkout, "demo/headers.py", "line 5\n", "line five\n", message)
    export(project)
    bump(project.release_file, load_series(project.series_file))
    return load_series(project.series_file).paths()[0]


def test_non_ascii_subject_is_read_as_git_am_reads_it(project: Project) -> None:
    path = author(project, PATCH_MESSAGE.format(subject=UMLAUT_SUBJECT))
    assert "=?UTF-8?" in path.read_text()  # format-patch encodes it (RFC 2047)
    patch = read_patch(path)
    assert patch.subject == UMLAUT_SUBJECT
    assert patch.dep3["Origin"] == "vendor" and patch.missing_dep3() == []
    assert out_of_sync(project) == []


def test_folded_long_subject_is_one_line(project: Project) -> None:
    subject = "headers: " + " ".join(["a rather long subject that git folds"] * 3)
    patch = read_patch(author(project, PATCH_MESSAGE.format(subject=subject)))
    assert patch.subject == subject


def test_missing_dep3_field_is_one_line_naming_patch_and_field(project: Project) -> None:
    message = PATCH_MESSAGE.format(subject="headers: spell out line five")
    path = author(project, message.replace("Forwarded: no\n", ""))
    assert missing_provenance(project) == [f"patch {path.name} lacks the DEP-3 field Forwarded"]
    done = subprocess.run(
        [sys.executable, "-m", "forkkit", "--root", str(project.root), "check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr == f"error: patch {path.name} lacks the DEP-3 field Forwarded\n"


def test_check_uses_export_dry_run_and_writes_nothing(project: Project) -> None:
    path = author(project, PATCH_MESSAGE.format(subject="headers: spell out line five"))
    (project.patches_dir / "0009-stray.patch").write_text("not in the series\n")
    project.series_file.write_text(project.series_file.read_text() + "# a comment\n")
    before = {p.name: p.read_bytes() for p in project.patches_dir.iterdir()}
    assert out_of_sync(project) == [
        "0009-stray.patch: in patches/ but not in the series",
        "series: differs from what export writes",
    ]
    assert {p.name: p.read_bytes() for p in project.patches_dir.iterdir()} == before
    assert path.is_file()


def author_three(project: Project) -> Path:
    checkout = apply(project).checkout
    for old, new in (("line 5\n", "line five\n"), ("line 9\n", "line nine\n")):
        subject = f"headers: spell out {new.strip()}"
        commit_edit(checkout, "demo/headers.py", old, new, PATCH_MESSAGE.format(subject=subject))
    commit_edit(
        checkout, "README.md", "", "notes\n", PATCH_MESSAGE.format(subject="readme: add notes")
    )
    export(project)
    return checkout


NAMES = (
    "headers-spell-out-line-five.patch",
    "headers-spell-out-line-nine.patch",
    "readme-add-notes.patch",
)


def test_names_come_from_subjects_without_positions(project: Project) -> None:
    author_three(project)
    assert load_series(project.series_file).names == NAMES


def test_reorder_and_drop_keep_every_other_name(project: Project) -> None:
    checkout = author_three(project)
    _five, nine, readme = git(checkout, "rev-list", "--reverse", "upstream/1.0..patched").split()
    git(checkout, "reset", "--quiet", "--hard", "upstream/1.0")
    git(checkout, "cherry-pick", "--quiet", readme, nine)  # five dropped, nine moved last
    export(project)
    assert load_series(project.series_file).names == (NAMES[2], NAMES[1])
    assert sorted(p.name for p in project.patches_dir.glob("*.patch")) == sorted(NAMES[1:])


def test_a_reworded_subject_is_named_once_from_the_new_subject(project: Project) -> None:
    checkout = author_three(project)
    message = PATCH_MESSAGE.format(subject="readme: add maintainer notes")
    git(checkout, "commit", "--quiet", "--amend", "-m", message)
    export(project)
    assert load_series(project.series_file).names == (
        *NAMES[:2],
        "readme-add-maintainer-notes.patch",
    )


def test_a_test_naming_a_patch_outside_the_series_is_one_line(project: Project) -> None:
    author_three(project)
    tests = project.root / "tests" / "behaviour"
    tests.mkdir(parents=True)
    (tests / "constants.py").write_text(
        'P_FIVE = "headers-spell-out-line-five"\nP_GONE = "0001-headers-spell-out-line-five"\n'
    )
    (tests / "test_x.py").write_text(
        "import pytest\nfrom tests.behaviour.constants import P_FIVE, P_GONE\n\n\n"
        "@pytest.mark.fixed_by(P_FIVE)\ndef test_a(): ...\n\n\n"
        "@pytest.mark.fixed_by(P_GONE, upstream_ok=None)\ndef test_b(): ...\n\n\n"
        '@pytest.mark.fixed_by("readme-add-notes")\ndef test_c(): ...\n'
    )
    assert unknown_patches(project) == [
        "tests/behaviour/test_x.py:9: fixed_by names patch '0001-headers-spell-out-line-five', "
        "which is not in patches/series"
    ]
