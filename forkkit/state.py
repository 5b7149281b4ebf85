"""What apply last produced in a checkout, kept inside its .git so it travels with it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from forkkit import gitutil
from forkkit.jsonfile import malformed, read_versioned, write_versioned

STATE_NAME = "forkkit-state.json"


@dataclass(frozen=True)
class AppliedState:
    digest: str  # series_digest() of the pin + series that produced `head`
    head: str  # the commit `patched` pointed at afterwards


SCHEMA, VERSION = "forkkit.applied", 1
REMEDY = "delete it and run `nox -s apply -- --force` (edits are stashed, commits kept on a branch)"


def read_state(checkout: Path) -> AppliedState | None:
    path = gitutil.git_dir(checkout) / STATE_NAME
    data = read_versioned(path, SCHEMA, VERSION, REMEDY)
    if data is None:
        return None
    try:
        return AppliedState(digest=str(data["digest"]), head=str(data["head"]))
    except KeyError as exc:
        raise malformed(path, exc, REMEDY) from None


def write_state(checkout: Path, state: AppliedState) -> None:
    write_versioned(gitutil.git_dir(checkout) / STATE_NAME, SCHEMA, VERSION, asdict(state))
