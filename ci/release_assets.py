#!/usr/bin/env python3
"""Collect what a GitHub Release of the patched wheel carries: the wheel, its sha256, provenance.

Reads the one wheel in --dist (the release workflow builds exactly one) and writes to --out:
  <wheel>                the wheel, byte for byte
  <wheel>.sha256         `sha256sum` format, so `sha256sum -c` checks a download
  FORK_PROVENANCE.json   the provenance the wheel carries (upstream artifacts, patches, commit)
On a tag push (--ref-type tag) the tag must be `v<wheel version>`, e.g. v1.106.2+fork.1.
Sets the outputs `version`, `tag` and `wheel`.

--dry-run prints what it would write and writes nothing. Exit codes: see ci/cilib.py.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from cilib import EXIT_INPUT, CIError, run_main, set_outputs

from forkkit.digest import sha256_of

PROVENANCE = "FORK_PROVENANCE.json"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=Path("dist"), help="where the wheel is")
    parser.add_argument("--out", type=Path, default=Path("release-out"), help="assets go here")
    parser.add_argument("--ref-type", default="branch", help="github.ref_type of the run")
    parser.add_argument("--ref-name", default="", help="github.ref_name of the run")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    return parser.parse_args(argv)


def the_wheel(dist: Path) -> Path:
    wheels = sorted(dist.glob("*.whl"))
    if len(wheels) != 1:
        names = ", ".join(w.name for w in wheels) or "none"
        raise CIError(f"expected exactly one wheel in {dist}, found {names}", EXIT_INPUT)
    return wheels[0]


def wheel_version(wheel: Path) -> str:
    parts = wheel.name.split("-")
    if len(parts) < 5 or "+" not in parts[1]:
        raise CIError(f"{wheel.name} is not a fork wheel (<upstream>+<label>.<n>)", EXIT_INPUT)
    return parts[1]


def provenance_of(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(f".dist-info/{PROVENANCE}")]
        if len(names) != 1:
            raise CIError(f"{wheel.name} carries no {PROVENANCE}", EXIT_INPUT)
        return archive.read(names[0])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wheel = the_wheel(args.dist)
    version = wheel_version(wheel)
    tag = f"v{version}"
    if args.ref_type == "tag" and args.ref_name != tag:
        raise CIError(f"tag {args.ref_name} does not match the built wheel; expected {tag}", 2)
    digest = sha256_of(wheel)
    provenance = provenance_of(wheel)
    assets = [wheel.name, f"{wheel.name}.sha256", PROVENANCE]
    print(f"wheel: {wheel.name}")
    print(f"sha256: {digest}")
    print(f"assets: {' '.join(str(args.out / name) for name in assets)}")
    if not args.dry_run:
        args.out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wheel, args.out / wheel.name)
        (args.out / f"{wheel.name}.sha256").write_text(f"{digest}  {wheel.name}\n")
        (args.out / PROVENANCE).write_bytes(provenance)
    set_outputs({"version": version, "tag": tag, "wheel": wheel.name}, dry_run=args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
