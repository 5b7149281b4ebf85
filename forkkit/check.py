"""check-patches: fail when export would change patches/ (hand-edited or stale patches)."""

from __future__ import annotations

from forkkit.apply import apply
from forkkit.export import rendered_patches
from forkkit.pin import load_pin
from forkkit.project import Project
from forkkit.release import load_release, stale_revision
from forkkit.series import load_series, render_series


def out_of_sync(project: Project) -> list[str]:
    """One line per file that export would add, change or remove; empty when in sync."""
    checkout = apply(project).checkout
    rendered = rendered_patches(checkout, load_pin(project.pin_file))
    problems = []
    for name, text in rendered.items():
        path = project.patches_dir / name
        if not path.is_file():
            problems.append(f"{name}: missing from patches/")
        elif path.read_bytes() != text.encode():
            problems.append(f"{name}: differs from what export writes")
    for path in sorted(project.patches_dir.glob("*.patch")):
        if path.name not in rendered:
            problems.append(f"{path.name}: in patches/ but not in the series")
    if project.series_file.read_text() != render_series(list(rendered)):
        problems.append("series: differs from what export writes")
    stale = stale_revision(load_release(project.release_file), load_series(project.series_file))
    return [*problems, f"release.toml: {stale}"] if stale else problems
