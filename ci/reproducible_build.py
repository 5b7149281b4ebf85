#!/usr/bin/env python3
"""Build the patched wheel twice, independently, and fail unless both are byte-identical.

The first build uses the usual cache and checkout; the second starts from an empty cache and a
new checkout (FORKKIT_CACHE, FORKKIT_CHECKOUT in a temporary directory), so it re-downloads the
upstream artifacts and re-applies the series. The first build's wheels are left in dist/.

--dry-run prints the two build commands and runs nothing. Exit codes: see ci/cilib.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cilib import CIError, run, run_main

from forkkit.digest import sha256_of

BUILD = ("-s", "build")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nox", default="nox", help="the nox executable")
    parser.add_argument("--dist", type=Path, default=Path("dist"), help="where builds land")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, run nothing")
    return parser.parse_args(argv)


def digests(directory: Path) -> dict[str, str]:
    return {wheel.name: sha256_of(wheel) for wheel in sorted(directory.glob("*.whl"))}


def build(nox: str) -> None:
    run([nox, *BUILD])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rebuild-") as scratch:
        fresh = {
            "FORKKIT_CACHE": str(Path(scratch) / "cache"),
            "FORKKIT_CHECKOUT": str(Path(scratch) / "checkout"),
        }
        print(f"build 1: {args.nox} {' '.join(BUILD)}")
        print(f"build 2: FORKKIT_CACHE=<empty> FORKKIT_CHECKOUT=<new> {args.nox} {' '.join(BUILD)}")
        if args.dry_run:
            return 0
        for stale in args.dist.glob("*.whl"):
            stale.unlink()
        build(args.nox)
        first = digests(args.dist)
        if not first:
            raise CIError(f"the first build left no wheel in {args.dist}")
        kept = Path(scratch) / "first"
        kept.mkdir()
        for name in first:
            shutil.move(args.dist / name, kept / name)
        os.environ.update(fresh)  # the last thing this script builds
        build(args.nox)
        second = digests(args.dist)
        for name in first:
            shutil.move(kept / name, args.dist / name)  # dist/ holds the first build again
    return compare(first, second)


def compare(first: dict[str, str], second: dict[str, str]) -> int:
    if first != second:
        differs = sorted(set(first.items()) ^ set(second.items()))
        raise CIError(f"the two builds differ: {', '.join(f'{n} {d[:12]}' for n, d in differs)}")
    for name, digest in first.items():
        print(f"reproducible: {name} sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
