"""check-patches: fail when export would change patches/, a patch lacks its provenance, or a
test names a patch the series does not have.

What export would change comes from the export engine itself, in dry-run mode: there is no
second implementation of what export writes.
"""

from __future__ import annotations

from pathlib import Path

from forkkit.apply import apply
from forkkit.export import export_changes
from forkkit.patch import read_patch
from forkkit.project import Project
from forkkit.references import patch_references
from forkkit.release import load_release, stale_revision
from forkkit.series import load_series

WHY = {
    "added": "missing from patches/ (export would write it)",
    "changed": "differs from what export writes",
    "removed": "in patches/ but not in the series",
}


def out_of_sync(project: Project) -> list[str]:
    """One line per file that export would add, change or remove; empty when in sync."""
    apply(project)
    problems = [f"{c.name}: {WHY[c.kind]}" for c in export_changes(project, dry_run=True)]
    stale = stale_revision(load_release(project.release_file), load_series(project.series_file))
    return [*problems, f"release.toml: {stale}"] if stale else problems


def unknown_patches(project: Project) -> list[str]:
    """One line per test mark that names a patch the series does not have."""
    stems = {Path(name).stem for name in load_series(project.series_file).names}
    tests = project.root / "tests" / "behaviour"
    return [
        f"{ref.file.relative_to(project.root)}:{ref.line}: fixed_by names patch {ref.stem!r}, "
        "which is not in patches/series"
        for ref in (patch_references(tests) if tests.is_dir() else [])
        if ref.stem not in stems
    ]


def missing_provenance(project: Project) -> list[str]:
    """One line per DEP-3 field a patch lacks (Origin, Forwarded, Last-Update)."""
    return [
        f"patch {patch.name} lacks the DEP-3 field {field}"
        for patch in map(read_patch, load_series(project.series_file).paths())
        for field in patch.missing_dep3()
    ]
