#!/usr/bin/env python3
"""Rebase the series onto a release, test it, and hand the result on (the `rebase` job).

1. `nox -s rebase -- <target> --record [--through]`: `python -m forkkit rebase` writes
   .work/rebase/report.{md,json} and, on success, moves upstream/pin.toml and patches/ and adds
   docs/rebases/<from>-to-<to>.md; the session then builds the wheel, runs the behaviour suite on
   it and records passed/failed in the report (so the pull request shows it).
   With --no-tests: `python -m forkkit rebase ...` alone (the report says tests: not run).
2. With --export-dir DIR: copies report.md and report.json there and, on success, writes
   DIR/changes.diff (`git diff --binary` of upstream/ patches/ docs/rebases/), for the job that
   opens the pull request to `git apply --index` (it never runs upstream code itself).

Prints GitHub step outputs result=rebased|conflict, version=<release reached or stopped at>,
tests=passed|failed|not run. A conflict and a failing suite are outcomes (exit 0: the issue or a
draft pull request reports them); a rebase that failed without writing a report, or whose session
failed for another reason, exits 1. With --dry-run it prints the command and stops.

Run it with the project's virtual environment: `.venv/bin/python ci/run_rebase.py 1.82.0`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from cilib import (
    DEFAULT_REPORT_DIR,
    EXIT_FAILED,
    EXIT_INPUT,
    REBASE_PATHS,
    CIError,
    load_report,
    run,
    run_main,
    set_outputs,
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="a version, or 'latest'")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    parser.add_argument("--through", action="store_true", help="walk every release up to target")
    parser.add_argument("--pre", action="store_true", help="consider pre-releases")
    parser.add_argument("--no-tests", action="store_true", help="only `python -m forkkit rebase`")
    parser.add_argument("--export-dir", type=Path, help="copy the report and the diff here")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    return parser.parse_args(argv)


def rebase_command(args: argparse.Namespace, root: Path) -> list[str]:
    options = [args.target, "--record"]
    options += (["--through"] if args.through else []) + (["--pre"] if args.pre else [])
    if args.no_tests:
        return [sys.executable, "-m", "forkkit", "--root", str(root), "rebase", *options]
    return [
        sys.executable,
        "-m",
        "nox",
        "-f",
        str(root / "noxfile.py"),
        "-s",
        "rebase",
        "--",
        *options,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root = args.root.resolve()
    if args.target.startswith("-"):
        raise CIError(f"not a version: {args.target!r}", EXIT_INPUT)
    rebase = rebase_command(args, root)
    if args.dry_run:
        print(f"would run: {' '.join(rebase)}")
        if args.export_dir:
            print(f"would copy the report and changes.diff to {args.export_dir}")
        return 0

    report_dir = root / DEFAULT_REPORT_DIR
    before = _stamp(report_dir / "report.json")
    status = subprocess.run(rebase, cwd=root, check=False).returncode
    if _stamp(report_dir / "report.json") in (None, before):
        raise CIError(f"the rebase failed before writing a report (exit status {status})")
    report = load_report(report_dir)
    if report.result == "rebased":
        # With tests, a failing suite makes the session fail after recording "failed" (an
        # outcome); any other failure leaves "not run" and is an error.
        if status != 0 and report.tests != "failed":
            raise CIError(f"the rebase session failed after rebasing (exit status {status})")
    elif report.result != "conflict":
        raise CIError(f"the rebase ended as {report.result!r}", EXIT_FAILED)

    if args.export_dir:
        export(root, report_dir, args.export_dir.resolve(), with_diff=report.result == "rebased")
    version = report.reached if report.result == "rebased" else report.conflict_version
    set_outputs({"result": report.result, "version": version, "tests": report.tests})
    return 0


def _stamp(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.is_file() else None


def export(root: Path, report_dir: Path, out: Path, with_diff: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in ("report.md", "report.json"):
        shutil.copyfile(report_dir / name, out / name)
    if not with_diff:
        return
    paths = [p for p in REBASE_PATHS if (root / p).exists()]
    run(["git", "-C", str(root), "add", "--all", "--", *paths])
    diff = run(["git", "-C", str(root), "diff", "--cached", "--binary", "--", *paths])
    if not diff.strip():
        raise CIError("the rebase succeeded but changed nothing under upstream/ or patches/")
    (out / "changes.diff").write_text(diff, encoding="utf-8")
    print(f"wrote {out / 'changes.diff'}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run_main(main))
