"""Line endings: carry a patch across a release that switched a patched file between LF and CRLF.

Upstream has flipped whole files (1.82.0 to CRLF, 1.106.2 back to LF). Every line of such a
file changes, so a patch written against the old endings conflicts everywhere although nothing
it touches moved. Before applying, the rebase rewrites the patch's lines for those files to the
new release's endings, so the patched file keeps upstream's endings in the checkout and the
wheel, and the wheel differs from upstream only in the patch's own lines.
"""

from __future__ import annotations

import re
from pathlib import Path

from forkkit import gitutil

LF, CRLF = "LF", "CRLF"
_DIFF = re.compile(rb"^diff --git a/(.+) b/(.+)$")
_HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def carry(checkout: Path, patch: Path, old_tag: str, new_tag: str) -> tuple[Path, str]:
    """The patch to apply on new_tag, and a note naming the files whose endings it followed.

    Unchanged (the original path, "") unless a file it touches switched endings between the
    two releases; otherwise a rewritten copy in the checkout's git directory.
    """
    data = patch.read_bytes()
    switched = {
        path: change
        for path in patched_paths(data)
        if (change := switched_endings(checkout, path, old_tag, new_tag))
    }
    if not switched:
        return patch, ""
    converted = gitutil.git_dir(checkout) / "forkkit-eol" / patch.name
    converted.parent.mkdir(exist_ok=True)
    converted.write_bytes(convert(data, {p: c.endswith(CRLF) for p, c in switched.items()}))
    notes = ", ".join(f"{path} {change}" for path, change in sorted(switched.items()))
    return converted, f"line endings followed upstream: {notes}"


def endings(blob: bytes) -> str | None:
    """LF or CRLF, whichever most lines end with; None for a file without line breaks."""
    crlf = blob.count(b"\r\n")
    lf = blob.count(b"\n") - crlf
    if not crlf and not lf:
        return None
    return CRLF if crlf > lf else LF


def switched_endings(checkout: Path, path: str, old_tag: str, new_tag: str) -> str:
    """'LF→CRLF' or 'CRLF→LF' when upstream switched the file's endings; '' otherwise."""
    found = []
    for tag in (old_tag, new_tag):
        status, _, _ = gitutil.run_unchecked(checkout, "cat-file", "-e", f"{tag}:{path}")
        if status != 0:
            return ""
        found.append(endings(gitutil.run_bytes(checkout, "cat-file", "blob", f"{tag}:{path}")))
    old, new = found
    return f"{old}→{new}" if old and new and old != new else ""


def patched_paths(patch: bytes) -> list[str]:
    paths = []
    for line in patch.splitlines():
        match = _DIFF.match(line)
        if match:
            paths.append(match.group(2).decode())
    return paths


def convert(patch: bytes, to_crlf: dict[str, bool]) -> bytes:
    """Rewrite the hunk lines of the named files to CRLF (True) or LF (False) endings.

    Hunks are walked by their line counts, so a content line that looks like a header (`-- `)
    is still content, and the mail signature after the last hunk is left alone.
    """
    out: list[bytes] = []
    target: bool | None = None
    old_left = new_left = 0
    lines = patch.splitlines(keepends=True)
    for number, line in enumerate(lines):
        if old_left or new_left:
            no_newline_next = number + 1 < len(lines) and lines[number + 1].startswith(b"\\")
            if target is not None and not no_newline_next:
                line = _with_ending(line, target)
            kind = line[:1]
            old_left -= kind in (b" ", b"-")
            new_left -= kind in (b" ", b"+")
            out.append(line)
            continue
        diff = _DIFF.match(line.rstrip(b"\r\n"))
        if diff:
            target = to_crlf.get(diff.group(2).decode())
        hunk = _HUNK.match(line)
        if hunk:
            old_left = int(hunk.group(1) or b"1")
            new_left = int(hunk.group(2) or b"1")
        out.append(line)
    return b"".join(out)


def _with_ending(line: bytes, crlf: bool) -> bytes:
    if not line.endswith(b"\n"):
        return line
    body = line[:-1].removesuffix(b"\r")
    return body + (b"\r\n" if crlf else b"\n")
