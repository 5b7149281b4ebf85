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
    # A patch that followed upstream's switch of line endings differs in every line, which
    # range-diff would show as one patch dropped and another added. Line endings are left out
    # of the comparison, and when the series kept its patches in order they are paired by place.
    options = ["--no-color", "--ignore-cr-at-eol"]
    if _subjects(checkout, *old) == _subjects(checkout, *new):
        options.append("--creation-factor=999")
    out = gitutil.run(checkout, "range-diff", *options, *ranges)
    return changed_pairs(out)


def _subjects(checkout: Path, base: str, head: str) -> list[str]:
    return [gitutil.subject(checkout, c) for c in gitutil.commits_between(checkout, base, head)]


def changed_pairs(output: str) -> str:
    """Only the pairs that changed: no `=` pair, and no `!` pair whose only change was ignored
    (line endings), which range-diff prints without a body."""
    blocks: list[list[str]] = []
    for line in output.splitlines():
        pair = _PAIR.match(line)
        if pair or not blocks:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    kept = [
        block
        for block in blocks
        if (pair := _PAIR.match(block[0])) is None
        or pair.group(1) in "<>"
        or (pair.group(1) == "!" and any(line.strip() for line in block[1:]))
    ]
    return "\n".join(line for block in kept for line in block).strip("\n")


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
