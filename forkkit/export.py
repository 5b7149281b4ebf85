"""export: turn the commits on `patched` back into patches/ and the series file.

The output is normalised so that apply-then-export changes nothing: zero commit ids, no Date
header, no version signature, full blob ids (stable, and they let `git am --3way` find a base).
A patch keeps its file name while its subject stays; a new one is named once from its subject.
check-patches runs the same engine with dry_run, so nothing else knows what export writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from forkkit import gitutil
from forkkit.apply import refuse_if_am_in_progress
from forkkit.checkout import PATCHED_BRANCH
from forkkit.errors import ForkKitError
from forkkit.patch import parse_patch, read_patch
from forkkit.pin import Pin, load_pin
from forkkit.project import Project
from forkkit.rebase_state import refuse_if_rebasing
from forkkit.series import Series, load_series, patch_file_name, render_series, series_digest
from forkkit.state import AppliedState, write_state


@dataclass(frozen=True)
class Change:
    name: str  # a file in patches/
    kind: str  # "added", "changed" or "removed"


def export(project: Project) -> list[str]:
    """Write patches/ and the series from the checkout; the names of the files that changed."""
    refuse_if_rebasing(project.checkout_dir, "export")
    return [change.name for change in export_changes(project)]


def export_changes(project: Project, dry_run: bool = False) -> list[Change]:
    """The one export engine. dry_run: only say what export would change (check-patches)."""
    pin = load_pin(project.pin_file)
    checkout = project.checkout_dir
    current = load_series(project.series_file) if project.series_file.is_file() else None
    patches = rendered_patches(checkout, pin, current)
    changes = write_patches(project.patches_dir, patches, dry_run)
    if not dry_run:  # record the result as applied, so the next apply is a no-op
        series: Series = load_series(project.series_file)
        head = gitutil.rev(checkout, f"refs/heads/{PATCHED_BRANCH}") or ""
        write_state(checkout, AppliedState(series_digest(pin, series), head))
    return changes


def write_series_from_checkout(project: Project) -> list[str]:
    """Export during a rebase (which export itself refuses): the names of the changed files."""
    return [change.name for change in export_changes(project)]


def write_patches(patches_dir: Path, patches: dict[str, str], dry_run: bool) -> list[Change]:
    """Make patches/ hold exactly these patches and their series, or only say what that takes."""
    changes = []
    for name, text in patches.items():
        path = patches_dir / name
        if not path.is_file() or path.read_bytes() != text.encode():  # bytes: keep CRLF lines
            changes.append(Change(name, "changed" if path.is_file() else "added"))
            if not dry_run:
                patches_dir.mkdir(parents=True, exist_ok=True)
                path.write_bytes(text.encode())
    for stale in sorted(patches_dir.glob("*.patch")):
        if stale.name not in patches:
            changes.append(Change(stale.name, "removed"))
            if not dry_run:
                stale.unlink()
    series_file = patches_dir / "series"
    series_text = render_series(list(patches))
    if not series_file.is_file() or series_file.read_text() != series_text:
        changes.append(Change("series", "changed" if series_file.is_file() else "added"))
        if not dry_run:
            series_file.write_text(series_text)
    return changes


FORMAT_PATCH_OPTIONS = (
    "--stdout",
    "--zero-commit",
    "--no-signature",
    "--no-numbered",
    "--full-index",
    "--no-renames",
    "--stat=72",
    "--encoding=UTF-8",
)


def format_patch(checkout: Path, commit: str) -> str:
    text = gitutil.run(checkout, "format-patch", *FORMAT_PATCH_OPTIONS, "-1", commit)
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("Date: "))


def rendered_patches(checkout: Path, pin: Pin, current: Series | None) -> dict[str, str]:
    """The series as export would write it: file name -> content, in order."""
    if gitutil.open_repo(checkout) is None:
        raise ForkKitError(f"no checkout at {checkout}; run `nox -s apply` first")
    refuse_if_am_in_progress(checkout)
    if gitutil.is_dirty(checkout):
        raise ForkKitError(
            f"{checkout} has uncommitted edits that export would miss; commit them first"
        )
    if gitutil.rev(checkout, pin.upstream_tag) is None:
        raise ForkKitError(f"{checkout} has no tag {pin.upstream_tag}; run `nox -s apply` first")
    commits = gitutil.commits_between(checkout, pin.upstream_tag, f"refs/heads/{PATCHED_BRANCH}")
    names = PatchNames(current)
    patches = {}
    for commit in commits:
        text = format_patch(checkout, commit)
        patches[names.name_for(parse_patch("", text.encode()).subject)] = text
    return patches


class PatchNames:
    """A patch keeps its file name while its subject stays (reorders, drops, rebases); a new or
    reworded one is named once from its subject. The order lives in patches/series only."""

    def __init__(self, current: Series | None) -> None:
        self._kept: dict[str, list[str]] = {}
        for path in current.paths() if current else []:
            self._kept.setdefault(read_patch(path).subject, []).append(path.name)
        self._taken = {name for names in self._kept.values() for name in names}

    def name_for(self, subject: str) -> str:
        kept = self._kept.get(subject)
        if kept:
            return kept.pop(0)
        base = patch_file_name(subject)
        name, number = base, 1
        while name in self._taken:
            number += 1
            name = base.replace(".patch", f"-{number}.patch")
        self._taken.add(name)
        return name
