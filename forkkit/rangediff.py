"""How a rebase changed each patch: `git range-diff` between the old and the new series.

Pairs that `git range-diff` calls identical (`=`; hunk offsets do not count) are left out, so
a clean apply shows nothing and a port shows exactly what the human or the merge changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from forkkit import gitutil

# "1:  abc1234 = 1:  def5678 subject", "-:  ------- > 2:  def5678 subject", "2:  … < -:  …"
_PAIR = re.compile(r"^\s*(?:\d+|-):\s+[0-9a-f-]+ ([=!<>]) (?:\d+|-):\s+[0-9a-f-]+ ")


@dataclass
class PatchSize:
    subject: str
    before: int  # lines added + removed by the patch in the old series (0: not there)
    after: int


def range_diff(checkout: Path, old: tuple[str, str], new: tuple[str, str]) -> str:
    """The changed pairs of `git range-diff old_base..old_head new_base..new_head`."""
    ranges = [f"{base}..{head}" for base, head in (old, new)]
    out = gitutil.run(checkout, "range-diff", "--no-color", *ranges)
    return changed_pairs(out)


def changed_pairs(output: str) -> str:
    """Drop the `=` pairs (with their bodies, which they have none of) from range-diff output."""
    kept: list[str] = []
    keep = False
    for line in output.splitlines():
        pair = _PAIR.match(line)
        if pair:
            keep = pair.group(1) != "="
        if keep:
            kept.append(line)
    return "\n".join(kept).strip("\n")


def sizes(checkout: Path, old: tuple[str, str], new: tuple[str, str]) -> list[PatchSize]:
    """Each patch's size before and after, paired by subject, for the ones whose size changed."""
    before, after = _sizes(checkout, *old), _sizes(checkout, *new)
    subjects = list(before) + [s for s in after if s not in before]
    found = [PatchSize(s, before.get(s, 0), after.get(s, 0)) for s in subjects]
    return [size for size in found if size.before != size.after]


def _sizes(checkout: Path, base: str, head: str) -> dict[str, int]:
    found = {}
    for commit in gitutil.commits_between(checkout, base, head):
        numstat = gitutil.run(checkout, "show", "--numstat", "--format=", commit)
        lines = sum(
            int(added) + int(removed)
            for added, removed, _ in (row.split("\t", 2) for row in numstat.splitlines() if row)
            if added.isdigit() and removed.isdigit()
        )
        found[gitutil.subject(checkout, commit)] = lines
    return found
