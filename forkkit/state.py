"""What apply last produced in a checkout, kept inside its .git so it travels with it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from forkkit import gitutil

STATE_NAME = "forkkit-state.json"


@dataclass(frozen=True)
class AppliedState:
    digest: str  # series_digest() of the pin + series that produced `head`
    head: str  # the commit `patched` pointed at afterwards


def read_state(checkout: Path) -> AppliedState | None:
    try:
        data = json.loads((gitutil.git_dir(checkout) / STATE_NAME).read_text())
        return AppliedState(digest=str(data["digest"]), head=str(data["head"]))
    except (FileNotFoundError, KeyError, ValueError, TypeError):
        return None


def write_state(checkout: Path, state: AppliedState) -> None:
    path = gitutil.git_dir(checkout) / STATE_NAME
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    temp.replace(path)
