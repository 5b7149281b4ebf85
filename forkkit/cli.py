"""Command line: `python -m forkkit <verb>`; nox sessions are thin wrappers around these verbs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from forkkit.errors import ForkKitError
from forkkit.project import Project

Handler = Callable[[Project, argparse.Namespace], int]


def cmd_fetch(project: Project, args: argparse.Namespace) -> int:
    from forkkit.checkout import ensure_pristine
    from forkkit.pin import load_pin

    pin = load_pin(project.pin_file)
    ensure_pristine(pin, project.cache_dir)
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
    from forkkit.check import out_of_sync

    problems = out_of_sync(project)
    for problem in problems:
        print(f"out of sync: {problem}", file=sys.stderr)
    if problems:
        print("patches/ does not match the series; run `nox -s export` and commit", file=sys.stderr)
        return 1
    print("patches/ is in sync with the series")
    return 0


def cmd_build(project: Project, args: argparse.Namespace) -> int:
    from forkkit.build import build, describe, parse_platform

    for wheel in build(project, [parse_platform(p) for p in args.platform]):
        print(f"built {describe(wheel)}")
    return 0


def cmd_bump(project: Project, args: argparse.Namespace) -> int:
    from forkkit.release import bump
    from forkkit.series import load_series

    release = bump(project.release_file, load_series(project.series_file), reset=args.reset)
    print(f"release is now {release.local_version()} ({project.release_file})")
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
    bump_parser = verbs.add_parser("bump", help="move the release revision to the current series")
    bump_parser.add_argument("--reset", action="store_true", help="start again at revision 1")
    return parser


HANDLERS: dict[str, Handler] = {
    "fetch": cmd_fetch,
    "apply": cmd_apply,
    "export": cmd_export,
    "check": cmd_check,
    "build": cmd_build,
    "bump": cmd_bump,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return HANDLERS[args.verb](Project(args.root.resolve()), args)
    except ForkKitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
