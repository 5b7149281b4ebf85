"""Command line: `python -m forkkit <verb>`; nox sessions are thin wrappers around these verbs."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from forkkit.errors import ForkKitError
from forkkit.project import Project
from forkkit.report import RebaseReport

Handler = Callable[[Project, argparse.Namespace], int]


def cmd_fetch(project: Project, args: argparse.Namespace) -> int:
    from forkkit.pin import load_pin
    from forkkit.pipeline import pristine

    pin = load_pin(project.pin_file)
    pristine(project, pin)
    print(f"{pin.describe()} verified and cached in {project.cache_dir}")
    return 0


def cmd_apply(project: Project, args: argparse.Namespace) -> int:
    from forkkit.apply import apply

    result = apply(project, force=args.force)
    for note in result.notes:
        print(f"note: {note}")
    state = "applied the series in" if result.applied else "already up to date:"
    print(f"{state} {result.checkout}")
    return 0


def cmd_export(project: Project, args: argparse.Namespace) -> int:
    from forkkit.export import export

    changed = export(project)
    print(f"exported; changed: {', '.join(changed)}" if changed else "exported; no changes")
    return 0


def cmd_check(project: Project, args: argparse.Namespace) -> int:
    from forkkit.check import missing_provenance, out_of_sync, unknown_patches

    unrecorded = missing_provenance(project) + unknown_patches(project)
    for problem in unrecorded:
        print(f"error: {problem}", file=sys.stderr)
    problems = out_of_sync(project)
    for problem in problems:
        print(f"out of sync: {problem}", file=sys.stderr)
    if problems:
        print("patches/ does not match the series; run `nox -s export` and commit", file=sys.stderr)
    if problems or unrecorded:
        return 1
    print("patches/ is in sync with the series, and every patch has its DEP-3 provenance")
    return 0


def cmd_build(project: Project, args: argparse.Namespace) -> int:
    from forkkit.build import build, describe, parse_platform

    wheels = build(project, [parse_platform(p) for p in args.platform])
    if args.json:
        print(json.dumps([str(wheel) for wheel in wheels]))
        return 0
    for wheel in wheels:
        print(f"built {describe(wheel)}")
    return 0


def cmd_pin(project: Project, args: argparse.Namespace) -> int:
    from forkkit.pin import load_pin

    pin = load_pin(project.pin_file)
    print(json.dumps({"project": pin.project, "version": pin.version, "source": pin.source}))
    return 0


def cmd_check_installed(project: Project, args: argparse.Namespace) -> int:
    from forkkit.installed import check_installed, installed_from, interpreter_path

    path = interpreter_path(args.python) if args.python else None
    if args.wheel:
        print(json.dumps({"installed_from": installed_from(args.wheel, args.name, path)}))
        return 0
    print(check_installed(args.name, path, cache_dir=project.cache_dir))
    return 0


def cmd_overrides(project: Project, args: argparse.Namespace) -> int:
    from forkkit.overrides import load_overrides

    overrides = load_overrides(project.root)
    print(json.dumps({"describe": overrides.describe(), "uv_args": overrides.uv_args()}))
    return 0


def cmd_suite_passed(project: Project, args: argparse.Namespace) -> int:
    from forkkit.testcache import has_passed, record_pass, suite_key

    suites = args.tests or [Path("tests") / "behaviour"]
    helpers = [suite_key(args.wheel, project.root / tests, []) for tests in suites[1:]]
    key = suite_key(args.wheel, project.root / suites[0], [*args.requirement, *helpers])
    if args.record:
        record_pass(project.root, key)
    print(json.dumps({"key": key, "passed": has_passed(project.root, key)}))
    return 0


def cmd_bump(project: Project, args: argparse.Namespace) -> int:
    from forkkit.release import bump
    from forkkit.series import load_series

    release = bump(project.release_file, load_series(project.series_file), reset=args.reset)
    print(f"release is now {release.local_version()} ({project.release_file})")
    return 0


def cmd_versions(project: Project, args: argparse.Namespace) -> int:
    from forkkit.overrides import load_overrides
    from forkkit.pin import load_pin
    from forkkit.versions import KINDS, candidates, newest_of_each

    overrides = load_overrides(project.root)
    print(overrides.describe())
    found = candidates(load_pin(project.pin_file), overrides, pre=args.pre)
    for candidate in found:
        print(f"{candidate.version}\t[proxy] {candidate.installs}")
    print(f"{len(found)} release(s) newer than the pin, each checked by a dry `uv pip compile`")
    newest = newest_of_each(found)
    for kind in KINDS:
        print(f"newest release that {kind}: {newest.get(kind, 'none')}")
    return 0


def cmd_rebase(project: Project, args: argparse.Namespace) -> int:
    from forkkit.pin import load_pin
    from forkkit.rebase import rebase
    from forkkit.report import STATUS_WORDS, report_paths
    from forkkit.stopped_rebase import abort, continue_rebase

    if args.abort:
        abort(project)
        print("rebase aborted; pin, patches/ and the checkout are as before")
        return 0
    if args.continue_:
        continue_rebase(project)
        pin = load_pin(project.pin_file)
        print(f"rebase finished on {pin.version}; report in {report_paths(project.root)[0]}")
        return 0
    if not args.target:
        raise ForkKitError("rebase needs a version, 'latest', --continue or --abort")
    report = rebase(project, args.target, through=args.through, pre=args.pre, record=args.record)
    for step in report.steps:
        for outcome in step.outcomes:
            print(f"{step.to_version}: {outcome.patch}: {STATUS_WORDS[outcome.status]}")
    print(f"rebased onto {report.reached}; report in {report_paths(project.root)[0]}")
    return 0


def cmd_drop(project: Project, args: argparse.Namespace) -> int:
    from forkkit.drop import drop

    print(drop(project, args.patch, args.reason))
    return 0


def _edit_report(project: Project, change: Callable[[RebaseReport], None]) -> None:
    from forkkit.report import load_report, write_report

    report = load_report(project.root)
    if report is None:
        raise ForkKitError("no rebase report in .work/rebase/")
    change(report)
    write_report(project.root, report)


def cmd_record_tests(project: Project, args: argparse.Namespace) -> int:
    _edit_report(project, lambda report: setattr(report, "tests", args.result))
    print(f"recorded: behaviour suite {args.result}")
    return 0


def cmd_note(project: Project, args: argparse.Namespace) -> int:
    _edit_report(project, lambda report: report.notes.append(args.text))
    print("noted in the rebase report")
    return 0


def cmd_index(project: Project, args: argparse.Namespace) -> int:
    from forkkit.simple_index import add_to_index

    index_dir = args.out or project.dist_dir / "simple"
    wheels = args.wheels or sorted(project.dist_dir.glob("*.whl"))
    for wheel in add_to_index(wheels, index_dir, replace=args.replace):
        print(f"indexed {wheel}")
    print(f"index: {len(list(index_dir.glob('*/*.whl')))} wheel(s) in {index_dir}")
    return 0


def cmd_claude_cli(project: Project, args: argparse.Namespace) -> int:
    from forkkit.claude_cli import install_cli, tools_missing

    if args.check:
        print(json.dumps({"missing": tools_missing()}))
        return 0
    print(install_cli(project))
    return 0


def cmd_image_plan(project: Project, args: argparse.Namespace) -> int:
    from forkkit.image import plan

    print(json.dumps(plan(project)))
    return 0


def cmd_image_build(project: Project, args: argparse.Namespace) -> int:
    from forkkit.image import build_image
    from forkkit.image_base import local_base_missing
    from forkkit.podman import podman_missing

    if args.check:
        missing = podman_missing() or (local_base_missing() if args.local_base else None)
        print(json.dumps({"missing": missing}))
        return 0
    if args.wheel is None:
        raise ForkKitError("image-build needs --wheel (the wheel `nox -s build` made)")
    built = build_image(project, args.wheel, base=args.base, use_local_base=args.local_base)
    if args.json:
        print(json.dumps({"ref": built.ref, "tag": built.tag, "digest": built.digest}))
        return 0
    print(f"built {built.ref} ({built.digest}) from {built.base}")
    return 0


def cmd_image_check(project: Project, args: argparse.Namespace) -> int:
    from forkkit.image import check_image

    for line in check_image(project, args.ref, args.wheel):
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="forkkit", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("fetch", help="download and verify the pinned release into the cache")
    apply_parser = verbs.add_parser("apply", help="materialise the checkout and apply the series")
    apply_parser.add_argument(
        "--force", action="store_true", help="stash edits / back up unrecorded commits first"
    )
    verbs.add_parser("export", help="write the commits on `patched` back to patches/")
    verbs.add_parser("check", help="fail when export would change patches/")
    build_parser_ = verbs.add_parser("build", help="build the patched wheel(s) into dist/")
    build_parser_.add_argument(
        "--platform",
        action="append",
        default=[],
        help="platform tag of a compiled release to patch (repeatable; default: this machine)",
    )
    build_parser_.add_argument("--json", action="store_true", help="print the wheels as JSON")
    verbs.add_parser("pin", help="the pinned release as JSON (for scripts and nox)")
    verbs.add_parser("overrides", help="the uv override arguments as JSON (for nox)")
    installed = verbs.add_parser(
        "check-installed", help="fail when an installed distribution differs from its wheel"
    )
    installed.add_argument("name")
    installed.add_argument("--python", help="check another interpreter's environment")
    installed.add_argument(
        "--wheel", type=Path, help="only say (JSON) whether it holds exactly this wheel's files"
    )
    suite = verbs.add_parser(
        "suite-passed", help="whether the behaviour suite passed on this wheel (JSON)"
    )
    suite.add_argument("wheel", type=Path)
    suite.add_argument("--requirement", action="append", default=[], help="a test requirement")
    suite.add_argument("--record", action="store_true", help="record a pass first")
    suite.add_argument(
        "--tests",
        type=Path,
        action="append",
        default=[],
        help="the suite's folder, then folders it uses (default: tests/behaviour)",
    )
    versions = verbs.add_parser("versions", help="releases newer than the pin")
    versions.add_argument("--pre", action="store_true", help="include pre-releases")
    rebase_parser = verbs.add_parser("rebase", help="carry the series onto a newer release")
    rebase_parser.add_argument("target", nargs="?", help="a version, or 'latest'")
    rebase_parser.add_argument(
        "--through", action="store_true", help="walk every release up to target; stop at a conflict"
    )
    rebase_parser.add_argument("--pre", action="store_true", help="consider pre-releases")
    rebase_parser.add_argument("--abort", action="store_true", help="undo a stopped rebase")
    rebase_parser.add_argument(
        "--continue",
        dest="continue_",
        action="store_true",
        help="finish a stopped rebase after porting the conflicting patch",
    )
    rebase_parser.add_argument(
        "--record", action="store_true", help="also write the report to docs/rebases/"
    )
    drop_parser = verbs.add_parser("drop", help="remove a patch upstream made obsolete")
    drop_parser.add_argument("patch", help="patch file name")
    drop_parser.add_argument("--reason", default="", help="recorded in the rebase report")
    note_parser = verbs.add_parser("note", help="add a note to the rebase report")
    note_parser.add_argument("text")
    record_parser = verbs.add_parser("record-tests", help="note the suite's result in the report")
    record_parser.add_argument("result", choices=["passed", "failed"])
    bump_parser = verbs.add_parser("bump", help="move the release revision to the current series")
    bump_parser.add_argument("--reset", action="store_true", help="start again at revision 1")
    index_parser = verbs.add_parser(
        "index", help="add wheels to the static simple index (dist/simple), keeping earlier ones"
    )
    index_parser.add_argument(
        "wheels", nargs="*", type=Path, help="wheels to add (default: dist/*.whl)"
    )
    index_parser.add_argument(
        "--out", type=Path, default=None, help="index directory (default: dist/simple)"
    )
    index_parser.add_argument(
        "--replace",
        action="store_true",
        help="let a rebuilt wheel overwrite its namesake (a local index, never a published one)",
    )
    claude_parser = verbs.add_parser(
        "claude-cli", help="install the pinned Claude Code CLI (cached) and print its path"
    )
    claude_parser.add_argument(
        "--check", action="store_true", help="only say (JSON) what is missing to install it"
    )
    verbs.add_parser("image-plan", help="the image's tag and upstream base for the pin (JSON)")
    image_build = verbs.add_parser("image-build", help="build the proxy image with podman")
    image_build.add_argument("--wheel", type=Path, help="the patched wheel to put in the image")
    bases = image_build.add_mutually_exclusive_group()
    bases.add_argument("--base", help="base image (default: upstream's image for the pin)")
    bases.add_argument(
        "--local-base", action="store_true", help="build a Debian-based stand-in for upstream's"
    )
    image_build.add_argument("--json", action="store_true", help="print ref, tag, digest as JSON")
    image_build.add_argument(
        "--check", action="store_true", help="only say (JSON) what is missing to build (this) image"
    )
    image_check = verbs.add_parser(
        "image-check", help="fail unless the image's LiteLLM is the wheel, file for file"
    )
    image_check.add_argument("ref")
    image_check.add_argument("wheel", type=Path)
    return parser


HANDLERS: dict[str, Handler] = {
    "fetch": cmd_fetch,
    "apply": cmd_apply,
    "export": cmd_export,
    "check": cmd_check,
    "build": cmd_build,
    "pin": cmd_pin,
    "overrides": cmd_overrides,
    "suite-passed": cmd_suite_passed,
    "check-installed": cmd_check_installed,
    "claude-cli": cmd_claude_cli,
    "bump": cmd_bump,
    "versions": cmd_versions,
    "rebase": cmd_rebase,
    "drop": cmd_drop,
    "record-tests": cmd_record_tests,
    "note": cmd_note,
    "index": cmd_index,
    "image-plan": cmd_image_plan,
    "image-build": cmd_image_build,
    "image-check": cmd_image_check,
}


# Verbs that touch the cache or the checkout: they run under the pipeline's one lock.
LOCKED_VERBS = {"fetch", "apply", "export", "check", "build", "rebase", "drop"}


def main(argv: Sequence[str] | None = None) -> int:
    from forkkit.pipeline import locked

    args = build_parser().parse_args(argv)
    project = Project(args.root.resolve())
    try:
        with locked(project) if args.verb in LOCKED_VERBS else contextlib.nullcontext():
            return HANDLERS[args.verb](project, args)
    except ForkKitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
