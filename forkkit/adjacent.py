"""Finish a 3-way merge git stopped only because the two sides edited neighbouring lines.

git's merge calls two edits a conflict when they touch adjacent lines, even when no base line is
changed by both. That is the usual shape of "upstream renamed a call on the line the patch
wraps": upstream rewrites line 2, the patch rewrites line 1 and inserts after line 2. When every
edit of one side leaves every base line the other side edits alone (and no two insertions land at
the same place), both edits can be applied together without choosing between them. The rebase
reports such a patch as merged, the range-diff shows exactly what moved, and the behaviour suite
runs on the result; anything less clear-cut stays a conflict for a human.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from forkkit import gitutil


@dataclass(frozen=True)
class Edit:
    start: int  # base lines [start, end) are replaced by lines
    end: int
    lines: tuple[bytes, ...]


def resolve_conflicts(checkout: Path) -> list[str] | None:
    """Merge every conflicted file of a stopped `git am --3way`; the files, or None if one is
    a real conflict (then nothing is touched)."""
    paths = gitutil.run(checkout, "diff", "--name-only", "--diff-filter=U").split()
    merged = {}
    for path in paths:
        blobs = _stage_blobs(checkout, path)
        if set(blobs) != {1, 2, 3}:
            return None
        base = gitutil.run_bytes(checkout, "cat-file", "blob", blobs[1]).splitlines(keepends=True)
        result = None
        for ours_algorithm, theirs_algorithm in itertools.product(ALGORITHMS, repeat=2):
            ours = edits_between(checkout, blobs[1], blobs[2], ours_algorithm)
            theirs = edits_between(checkout, blobs[1], blobs[3], theirs_algorithm)
            result = merge(base, ours, theirs)
            if result is not None:
                break
        if result is None:
            return None
        merged[path] = b"".join(result)
    for path, data in merged.items():
        (checkout / path).write_bytes(data)
        gitutil.run(checkout, "add", "--", path)
    return paths


# Each describes the same change with different line alignments; one of them may keep the two
# sides' edits apart where another makes them overlap.
ALGORITHMS = ("myers", "minimal", "patience", "histogram")


def merge(base: list[bytes], ours: list[Edit], theirs: list[Edit]) -> list[bytes] | None:
    """Both sides' edits of base applied together, or None when two of them touch one line."""
    edits = sorted({*ours, *theirs}, key=lambda e: (e.start, e.end))
    for before, after in itertools.pairwise(edits):
        if _collide(before, after):
            return None
    out: list[bytes] = []
    position = 0
    for edit in edits:
        out += base[position : edit.start]
        out += edit.lines
        position = edit.end
    return out + base[position:]


def edits_between(checkout: Path, old: str, new: str, algorithm: str) -> list[Edit]:
    """The edits that turn blob old into blob new, as `git diff -U0` aligns them."""
    diff = gitutil.run_bytes(
        checkout,
        "diff",
        "--no-color",
        "--no-ext-diff",
        "-U0",
        f"--diff-algorithm={algorithm}",
        old,
        new,
    )
    edits: list[Edit] = []
    current: tuple[int, int] | None = None
    added: list[bytes] = []
    for line in diff.splitlines(keepends=True):
        hunk = _HUNK.match(line)
        if hunk:
            if current:
                edits.append(Edit(*current, tuple(added)))
            start, count = int(hunk.group(1)), int(hunk.group(2) or b"1")
            first = start if count == 0 else start - 1  # 0-based; an insertion goes after start
            current, added = (first, first + count), []
        elif current and line.startswith(b"+"):
            added.append(line[1:])
        elif current and line.startswith(b"\\") and added:
            added[-1] = added[-1].removesuffix(b"\n")  # that line has no newline in the file
    if current:
        edits.append(Edit(*current, tuple(added)))
    return edits


_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


def _collide(first: Edit, second: Edit) -> bool:
    """Sorted by start: do they share a base line, or insert at one place (order unknown)?"""
    if second.start < first.end:
        return True
    inserting = first.start == first.end or second.start == second.end
    return inserting and second.start == first.start


def _stage_blobs(checkout: Path, path: str) -> dict[int, str]:
    """Stage number -> blob id of a conflicted path (1 base, 2 ours, 3 theirs)."""
    out = gitutil.run(checkout, "ls-files", "--unmerged", "--", path)
    blobs = {}
    for line in out.splitlines():
        info = line.split("\t", 1)[0].split()
        blobs[int(info[2])] = info[1]
    return blobs
