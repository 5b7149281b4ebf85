"""rebase: carry the series onto a newer upstream release, classifying what happens to each patch.

The new release is imported as a commit on top of the old upstream commit, so `git am --3way`
merges against a real base. Nothing in patches/ or the pin moves until every patch is placed.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from packaging.version import InvalidVersion, Version

from forkkit import adjacent, eol, gitutil, rangediff
from forkkit.apply import apply, failing_hunks
from forkkit.checkout import PATCHED_BRANCH
from forkkit.errors import ForkKitError
from forkkit.export import write_series_from_checkout
from forkkit.index import find_sdist
from forkkit.overrides import Overrides, load_overrides
from forkkit.patch import read_patch
from forkkit.pin import Pin, dump_pin, load_pin
from forkkit.pipeline import pristine as pristine_repository
from forkkit.project import Project
from forkkit.rebase_state import Saved, clear_saved, rebasing, store_saved
from forkkit.release import bump
from forkkit.report import PatchOutcome, RebaseReport, StepReport, write_report
from forkkit.series import Series, load_series
from forkkit.versions import choose_target, newer_versions, tag_for


def rebase(
    project: Project, target: str, through: bool = False, pre: bool = False, record: bool = False
) -> RebaseReport:
    if rebasing(project.checkout_dir):
        raise ForkKitError(
            "a rebase is already in progress; finish it with `nox -s rebase -- --continue` "
            "or undo it with `nox -s rebase -- --abort`"
        )
    checkout = apply(project).checkout
    pin = load_pin(project.pin_file)
    overrides = load_overrides(project.root)
    versions = target_versions(pin, target, through, pre, overrides)
    report = RebaseReport(pin.project, pin.version, versions[-1])
    report.overrides = overrides.requirements()
    if record:
        report.recorded_to = f"docs/rebases/{pin.version}-to-{versions[-1]}.md"
    saved = _snapshot(project, checkout)
    store_saved(checkout, saved)
    for version in versions:
        new = pin_for(pin, version)
        saved.step_base, saved.step_head = pin.upstream_tag, gitutil.rev(checkout, "HEAD") or ""
        step = rebase_step(project, checkout, pin, new, load_series(project.series_file))
        report.steps.append(step)
        saved.tags.append(new.upstream_tag)
        if step.conflict:
            saved.new_pin_text = dump_pin(new)
            store_saved(checkout, saved)
            report.result, report.next_steps = "conflict", conflict_steps(checkout, step, new)
            write_report(project.root, report)
            raise ForkKitError(conflict_line(checkout, step))
        store_saved(checkout, saved)
        settle(project, checkout, new)
        describe_changes(checkout, step, saved.step_range(), new.upstream_tag)
        pin = new
    clear_saved(checkout)
    report.result = "rebased"
    write_report(project.root, report)
    return report


def rebase_step(project: Project, checkout: Path, old: Pin, new: Pin, series: Series) -> StepReport:
    step = StepReport(old.version, new.version)
    import_on_top(checkout, project, old, new)
    gitutil.run(checkout, "checkout", "--quiet", "-B", PATCHED_BRANCH, new.upstream_tag)
    for position, patch in enumerate(series.paths()):
        outcome = place_patch(checkout, patch, old.upstream_tag, new)
        step.outcomes.append(outcome)
        if outcome.status == "conflict":
            step.conflict = True
            rest = series.paths()[position + 1 :]
            carried = [eol.carry(checkout, p, old.upstream_tag, new.upstream_tag)[0] for p in rest]
            queue_rest(
                checkout, eol.carry(checkout, patch, old.upstream_tag, new.upstream_tag)[0], carried
            )
            step.outcomes += [PatchOutcome(p.name, "not-reached", "queued in git am") for p in rest]
            break
    return step


def settle(project: Project, checkout: Path, new: Pin) -> None:
    """After every patch is placed: move the pin, re-export the series, restart the revision."""
    project.pin_file.write_text(dump_pin(new))
    write_series_from_checkout(project)
    bump(project.release_file, load_series(project.series_file), reset=True)


def conflict_line(checkout: Path, step: StepReport) -> str:
    outcome = next(o for o in step.outcomes if o.status == "conflict")
    return (
        f"rebase onto {step.to_version} stopped: {outcome.patch} conflicts ({outcome.detail}); "
        f"report in .work/rebase/report.md; resolve in {checkout} and `git add` the files, "
        f"then `nox -s rebase -- --continue` (or `nox -s rebase -- --abort`)"
    )


def conflict_steps(checkout: Path, step: StepReport, new: Pin) -> list[str]:
    outcome = next(o for o in step.outcomes if o.status == "conflict")
    return [
        f"In `{checkout}`, port `{outcome.patch}` to {new.project} {new.version}: "
        f"resolve the conflict markers ({outcome.detail}) and `git add` the files.",
        f"If upstream made the patch obsolete: `nox -s drop -- {outcome.patch}` instead.",
        f"`nox -s rebase -- --continue`: runs `git am --continue` (the queued patches follow; "
        f"port and rerun on another stop), moves the pin to {new.version}, re-exports patches/, "
        f"restarts the release revision and tests the new wheel.",
        "Commit `upstream/` and `patches/`.",
        "To give up instead: `nox -s rebase -- --abort` restores everything as before.",
    ]


def _snapshot(project: Project, checkout: Path) -> Saved:
    files = sorted(p for p in project.patches_dir.iterdir() if p.is_file())
    patches = {p.name: p.read_bytes().decode() for p in files}  # bytes: CRLF lines survive
    return Saved(
        head=gitutil.rev(checkout, "HEAD") or "",
        pin_text=project.pin_file.read_text(),
        release_text=project.release_file.read_text(),
        patches=patches,
        tags=[],
    )


def describe_changes(checkout: Path, step: StepReport, old: tuple[str, str], new_tag: str) -> None:
    """The step's range-diff and the patches whose size changed, old series against new."""
    new = (new_tag, gitutil.rev(checkout, "HEAD") or "")
    step.range_diff = rangediff.range_diff(checkout, old, new)
    step.sizes = [asdict(size) for size in rangediff.sizes(checkout, old, new)]


def target_versions(
    pin: Pin, target: str, through: bool, pre: bool, overrides: Overrides | None = None
) -> list[str]:
    wanted = choose_target(pin, target, pre, overrides)
    if wanted is None:
        raise ForkKitError(f"{pin.project} has no release newer than {pin.version} ({target})")
    steps = [v for v in newer_versions(pin, pre) if v <= wanted] if through else [wanted]
    return [str(v) for v in steps]


def pin_for(pin: Pin, version: str) -> Pin:
    if pin.source == "index":
        sdist = find_sdist(pin.project, version)
        return replace(pin, version=version, sha256=sdist.sha256, artifact=sdist.filename)
    tag = tag_for(pin, Version(version))
    out = gitutil.run(Path.cwd(), "ls-remote", pin.url, f"refs/tags/{tag}", f"refs/tags/{tag}^{{}}")
    commits = [line.split()[0] for line in out.splitlines() if line.strip()]
    if not commits:
        raise ForkKitError(f"{pin.url} has no tag {tag}")
    return replace(pin, version=version, tag=tag, commit=commits[-1])  # peeled last


def import_on_top(checkout: Path, project: Project, old: Pin, new: Pin) -> None:
    """Tag upstream/<new>: the new release's tree as a commit whose parent is the old release."""
    pristine = pristine_repository(project, new)
    ref = "refs/forkkit/incoming"
    gitutil.fetch_ref(checkout, pristine, f"refs/tags/{new.upstream_tag}", ref)
    tree = gitutil.rev(checkout, f"{ref}^{{tree}}") or ""
    gitutil.run(checkout, "update-ref", "-d", ref)
    message = f"Import {new.project} {new.version}\n\n{_source_line(new)}"
    commit = gitutil.run(
        checkout,
        "commit-tree",
        tree,
        "-p",
        old.upstream_tag,
        "-m",
        message,
        env=gitutil.TOOL_IDENTITY,
    ).strip()
    gitutil.run(checkout, "tag", "--force", new.upstream_tag, commit)


def _source_line(pin: Pin) -> str:
    if pin.source == "index":
        return f"sdist {pin.artifact} sha256 {pin.sha256}"
    return f"git {pin.url} tag {pin.tag} commit {pin.commit}"


def place_patch(checkout: Path, patch: Path, old_tag: str, new: Pin) -> PatchOutcome:
    """Apply one patch on HEAD and say how it went; a conflict leaves `git am` stopped.

    A file upstream switched between LF and CRLF is not a conflict: the patch follows it.
    """
    carried, note = eol.carry(checkout, patch, old_tag, new.upstream_tag)
    outcome = _place(checkout, carried, old_tag, new)
    if note:
        outcome.detail = f"{outcome.detail}; {note}" if outcome.detail else note
    return outcome


def _place(checkout: Path, patch: Path, old_tag: str, new: Pin) -> PatchOutcome:
    applied_upstream = read_patch(patch).dep3.get("Applied-Upstream", "")
    if _released_by(applied_upstream, new.version):
        return PatchOutcome(patch.name, "already-upstream", f"Applied-Upstream: {applied_upstream}")
    status, _, err = gitutil.run_unchecked(checkout, "apply", "--check", "--verbose", str(patch))
    if status == 0:
        _am(checkout, patch)
        shifted = "offset" in err or "fuzz" in err
        return PatchOutcome(patch.name, "offset" if shifted else "clean", _offsets(err))
    if gitutil.run_unchecked(checkout, "apply", "--check", "--reverse", str(patch))[0] == 0:
        return PatchOutcome(patch.name, "already-upstream", "its change is already in the release")
    hunks = "; ".join(failing_hunks(checkout, patch))
    status, _, err = gitutil.run_unchecked(checkout, *gitutil.AM, "--3way", "--quiet", str(patch))
    if status == 0:
        return PatchOutcome(patch.name, "3-way", f"merged around {hunks}")
    if "Patch already applied" in err or "No changes" in err:
        gitutil.run(checkout, "am", "--skip")
        return PatchOutcome(patch.name, "already-upstream", "3-way merge left nothing to change")
    merged = adjacent.resolve_conflicts(checkout)
    if merged:
        gitutil.run(checkout, "am", "--continue")
        files = ", ".join(merged)
        return PatchOutcome(
            patch.name,
            "3-way",
            f"merged around {hunks}; in {files} upstream and the patch edit neighbouring lines, "
            f"which git calls a conflict: both edits kept (review the range-diff)",
        )
    conflicts = gitutil.run(checkout, "diff", "--name-only", "--diff-filter=U").split()
    detail = f"{hunks}; conflict markers in {', '.join(conflicts) or 'no file'}"
    switched = [f for f in conflicts if _line_endings_changed(checkout, f, old_tag, new)]
    if switched:
        detail += f"; upstream changed the line endings of {', '.join(switched)}"
    return PatchOutcome(patch.name, "conflict", detail)


def _line_endings_changed(checkout: Path, path: str, old_tag: str, new: Pin) -> bool:
    """A whole-file conflict often means only this: port the change onto the new endings."""
    crlf = []
    for tag in (old_tag, new.upstream_tag):
        status, blob, _ = gitutil.run_unchecked(checkout, "cat-file", "-p", f"{tag}:{path}")
        crlf.append(status == 0 and "\r\n" in blob)
    return crlf[0] != crlf[1]


def queue_rest(checkout: Path, conflicting: Path, rest: list[Path]) -> None:
    """Stop at the conflict again with the rest queued, so `git am --continue` applies them."""
    if not rest:
        return
    gitutil.run(checkout, "am", "--abort")
    queue = [str(p) for p in (conflicting, *rest)]
    status, _, _ = gitutil.run_unchecked(checkout, *gitutil.AM, "--3way", "--quiet", *queue)
    if status == 0:  # cannot happen unless git changed its mind; then there is nothing to resolve
        raise ForkKitError(f"{conflicting.name} conflicted once and then applied; rerun the rebase")


def _am(checkout: Path, patch: Path) -> None:
    gitutil.run(checkout, *gitutil.AM, "--quiet", str(patch))


def _offsets(stderr: str) -> str:
    return "; ".join(line.strip() for line in stderr.splitlines() if "succeeded at" in line)


def _released_by(applied_upstream: str, version: str) -> bool:
    try:
        return Version(applied_upstream) <= Version(version)
    except InvalidVersion:
        return False
