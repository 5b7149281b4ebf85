"""drop: remove a patch upstream made obsolete, also in the middle of a stopped rebase."""

from __future__ import annotations

from pathlib import Path

from forkkit import gitutil
from forkkit.apply import apply
from forkkit.errors import ForkKitError
from forkkit.patch import read_patch
from forkkit.project import Project
from forkkit.release import bump
from forkkit.report import PatchOutcome, load_report, write_report
from forkkit.series import load_series, render_series


def drop(project: Project, name: str, reason: str = "") -> str:
    series = load_series(project.series_file)
    name = Path(name).name
    if name not in series.names:
        raise ForkKitError(f"{name} is not in {project.series_file}")
    checkout = project.checkout_dir
    stopped_on_it = gitutil.am_in_progress(checkout) and _am_is_at(
        checkout, series.directory / name
    )
    (series.directory / name).unlink()
    project.series_file.write_text(render_series([n for n in series.names if n != name]))
    _record(project, name, reason)
    if stopped_on_it:
        status, _, _ = gitutil.run_unchecked(checkout, "am", "--skip")
        if status != 0:
            return f"dropped {name}; `git am` stopped again on a later patch: resolve it likewise"
        return f"dropped {name}; the queued patches applied: now `nox -s rebase -- --continue`"
    if gitutil.am_in_progress(checkout):
        return f"dropped {name} from patches/; `git am` is still stopped on another patch"
    bump(project.release_file, load_series(project.series_file))
    apply(project)
    return f"dropped {name} and re-applied the series"


def _am_is_at(checkout: Path, patch: Path) -> bool:
    message = gitutil.git_dir(checkout) / "rebase-apply" / "final-commit"
    if not message.is_file():
        return False
    lines = message.read_text().splitlines()
    return bool(lines) and lines[0].strip() == read_patch(patch).subject


def _record(project: Project, name: str, reason: str) -> None:
    report = load_report(project.root)
    if report is None or report.result not in ("in progress", "conflict") or not report.steps:
        return
    step = report.steps[-1]
    step.outcomes = [o for o in step.outcomes if o.patch != name]
    step.outcomes.append(PatchOutcome(name, "dropped", reason or "dropped by hand"))
    write_report(project.root, report)
