"""upstream/overrides.txt: a uv override file for the index's lag behind upstream's pins.

Every environment the toolkit installs LiteLLM into (the behaviour suite, the negative control,
the rebase, the benchmark, CI) passes it to uv as `--override`. It is recorded in the rebase
report and in FORK_PROVENANCE.json, and never in the wheel's own metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from forkkit.digest import sha256_digest
from forkkit.errors import ForkKitError

OVERRIDES_PATH = "upstream/overrides.txt"


@dataclass(frozen=True)
class Override:
    requirement: str
    reason: str  # the comment lines just above it


@dataclass(frozen=True)
class Overrides:
    path: Path
    entries: tuple[Override, ...] = ()
    sha256: str = ""

    def uv_args(self) -> list[str]:
        """Arguments for `uv pip install|compile`: nothing when there is nothing to override."""
        return ["--override", str(self.path)] if self.entries else []

    def requirements(self) -> list[str]:
        return [entry.requirement for entry in self.entries]

    def describe(self) -> str:
        if not self.entries:
            return f"no uv overrides ({OVERRIDES_PATH} is empty or absent)"
        return f"uv overrides from {OVERRIDES_PATH}: {'; '.join(self.requirements())}"

    def record(self) -> dict[str, object]:
        """What the rebase report and FORK_PROVENANCE.json say about the overrides."""
        return {"file": OVERRIDES_PATH, "sha256": self.sha256, "requirements": self.requirements()}


def load_overrides(root: Path) -> Overrides:
    path = root / OVERRIDES_PATH
    if not path.is_file():
        return Overrides(path)
    data = path.read_bytes()
    entries = parse_overrides(data.decode("utf-8"), path)
    return Overrides(path, entries, sha256_digest(data) if entries else "")


def parse_overrides(text: str, path: Path) -> tuple[Override, ...]:
    """One PEP 508 requirement a line; the comment block right above a line is its reason."""
    entries = []
    comment: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            comment = []
        elif line.startswith("#"):
            comment.append(line.lstrip("#").strip())
        elif not comment:
            raise ForkKitError(
                f"{path}:{number}: {line!r} needs a comment above it saying why it is there "
                f"and when it can go"
            )
        else:
            entries.append(Override(_checked(line, path, number), " ".join(comment)))
            comment = []
    return tuple(entries)


def _checked(line: str, path: Path, number: int) -> str:
    requirement = line.split(" #", 1)[0].strip()
    try:
        Requirement(requirement)
    except InvalidRequirement as exc:
        raise ForkKitError(
            f"{path}:{number}: not a requirement: {requirement!r} ({str(exc).splitlines()[0]})"
        ) from None
    return requirement
