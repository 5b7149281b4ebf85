#!/usr/bin/env python3
"""Download the wheels of every earlier GitHub Release of the fork into the simple index.

The published index is rebuilt from the releases on every run, so users can still pin an earlier
revision: `gh release download` of each `v*` release's wheel into --dest (the index's project
directory, e.g. site/simple/litellm). `python -m forkkit index` then writes the pages.

--dry-run lists the releases it would download from and downloads nothing.
Needs an authenticated `gh` (GH_TOKEN in CI). Exit codes: see ci/cilib.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cilib import gh_json, run, run_main

LIMIT = "1000"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, required=True, help="where the wheels go")
    parser.add_argument("--dry-run", action="store_true", help="list releases, download nothing")
    return parser.parse_args(argv)


def release_tags() -> list[str]:
    releases = gh_json(["release", "list", "--limit", LIMIT, "--json", "tagName,isDraft"]) or []
    tags = [r["tagName"] for r in releases if not r.get("isDraft")]
    return sorted(tag for tag in tags if tag.startswith("v") and "+" in tag)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tags = release_tags()
    for tag in tags:
        print(f"release: {tag}")
    if args.dry_run:
        return 0
    args.dest.mkdir(parents=True, exist_ok=True)
    for tag in tags:
        download = ["gh", "release", "download", tag, "--pattern", "*.whl"]
        run([*download, "--dir", str(args.dest), "--skip-existing"])
    print(f"{len(tags)} release(s) in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
