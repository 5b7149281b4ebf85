#!/usr/bin/env python3
"""Is there an upstream release to rebase onto? (the `check` job of upstream.yml)

Reads the pin, asks the configured index (or the pin's git remote) for newer releases, like
`python -m forkkit versions`, and prints GitHub step outputs:

  new_release=true|false   whether there is something to rebase onto
  target=<version>         the release to rebase onto ('' when there is none)
  pinned=<version>         the release the series applies to now

When $GITHUB_OUTPUT is set they are also appended there (not with --dry-run).
`--target latest` (the default) with no newer release is not an error: new_release=false.
An explicit `--target X` that is not a release newer than the pin is (exit 2).

Run it with the project's virtual environment: `.venv/bin/python ci/upstream_check.py`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cilib import EXIT_INPUT, CIError, run_main, set_outputs

TARGET_WORDS = ("latest", "latest-resolving")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    parser.add_argument(
        "--target",
        default="latest",
        help="a version, 'latest' (default) or 'latest-resolving' (newest whose [proxy] installs)",
    )
    parser.add_argument("--pre", action="store_true", help="consider pre-releases")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the outputs, do not write $GITHUB_OUTPUT"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        from forkkit.errors import ForkKitError
        from forkkit.overrides import load_overrides
        from forkkit.pin import load_pin
        from forkkit.project import Project
        from forkkit.versions import choose_target, newer_versions
    except ImportError:
        raise CIError("forkkit is not importable; run this with the project's venv") from None

    target = (args.target or "latest").strip()
    try:
        project = Project(args.root.resolve())
        pin = load_pin(project.pin_file)
        overrides = load_overrides(project.root)
        newer = newer_versions(pin, pre=args.pre)
        wanted = choose_target(pin, target, pre=args.pre, overrides=overrides)
    except ForkKitError as exc:
        raise CIError(str(exc), EXIT_INPUT if target not in TARGET_WORDS else 1) from None
    chosen = str(wanted) if wanted else ""

    listed = ", ".join(str(v) for v in newer) or "none"
    if target == "latest-resolving":
        print(f"resolving with {overrides.describe()}", file=sys.stderr)
    print(f"{pin.project}: pinned {pin.version}; newer releases: {listed}", file=sys.stderr)
    if chosen:
        print(f"would rebase onto {pin.project} {chosen}", file=sys.stderr)
    set_outputs(
        {"new_release": "true" if chosen else "false", "target": chosen, "pinned": pin.version},
        dry_run=args.dry_run,
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
