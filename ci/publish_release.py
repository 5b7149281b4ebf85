#!/usr/bin/env python3
"""Create the GitHub Release of a patched wheel from the assets release_assets.py wrote.

The release is named and tagged `v<upstream>+<label>.<n>`; gh creates the tag at --target when
it does not exist yet. Its notes give the sha256, how to install from the project's simple index
on GitHub Pages, and how to verify the download and its build attestation. A release that exists
already is left alone: a published version never changes.

--dry-run prints the gh command and the notes and calls nothing.
Needs an authenticated `gh` (GH_TOKEN in CI). Exit codes: see ci/cilib.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cilib import EXIT_INPUT, CIError, print_body, run, run_main, succeeds

PROVENANCE = "FORK_PROVENANCE.json"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=Path, default=Path("release-out"))
    parser.add_argument("--repository", required=True, help="owner/name (github.repository)")
    parser.add_argument("--target", required=True, help="the commit the tag points at")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, call nothing")
    return parser.parse_args(argv)


def assets_in(directory: Path) -> tuple[Path, Path, Path]:
    wheels = sorted(directory.glob("*.whl"))
    if len(wheels) != 1:
        raise CIError(f"expected one wheel in {directory}; run ci/release_assets.py", EXIT_INPUT)
    wheel = wheels[0]
    checksum, provenance = directory / f"{wheel.name}.sha256", directory / PROVENANCE
    for path in (checksum, provenance):
        if not path.is_file():
            raise CIError(f"{path} is missing; run ci/release_assets.py", EXIT_INPUT)
    return wheel, checksum, provenance


def pages_index(repository: str) -> str:
    owner, _, name = repository.partition("/")
    return f"https://{owner.lower()}.github.io/{name}/simple/"


def notes(wheel: Path, checksum: Path, provenance: Path, repository: str) -> str:
    version = wheel.name.split("-")[1]
    digest = checksum.read_text().split()[0]
    try:
        data = json.loads(provenance.read_text())
        upstream = f"LiteLLM {data['upstream']['version']}"
        patches = [str(p["name"]) for p in data["patches"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise CIError(
            f"{provenance} is not the provenance a fork wheel carries ({exc})", 2
        ) from None
    index = pages_index(repository)
    lines = [
        f"{upstream} with this repository's patch series, as `litellm {version}`.",
        "",
        f"- wheel: `{wheel.name}`",
        f"- sha256: `{digest}`",
        "",
        "Install (the rest of LiteLLM's dependencies come from your usual index):",
        "",
        "```",
        f'pip install --extra-index-url {index} "litellm[proxy]=={version}"',
        f'uv pip install --extra-index-url {index} "litellm[proxy]=={version}"',
        "```",
        "",
        "Verify a download: `sha256sum -c "
        f"{checksum.name}` and `gh attestation verify {wheel.name} --repo {repository}`.",
        "",
        "Patches:",
        "",
        *[f"- `{name}`" for name in patches],
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wheel, checksum, provenance = assets_in(args.assets)
    tag = "v" + wheel.name.split("-")[1]
    body = notes(wheel, checksum, provenance, args.repository)
    command = ["gh", "release", "create", tag, str(wheel), str(checksum), str(provenance)]
    command += ["--title", f"litellm {tag[1:]}", "--target", args.target]
    print(f"tag: {tag}")
    print(f"command: {' '.join(command)} --notes-file <notes>")
    print_body(body)
    if args.dry_run:
        return 0
    if succeeds(["gh", "release", "view", tag]):
        print(f"release {tag} exists already; left as it is")
        return 0
    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as notes_file:
        notes_file.write(body)
    run([*command, "--notes-file", notes_file.name])
    Path(notes_file.name).unlink()
    print(f"released {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
