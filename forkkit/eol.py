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
_INDEX = re.compile(rb"^index ([0-9a-f]+)\.\.([0-9a-f]+)(.*\n?)$", re.DOTALL)
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
    to_crlf = {path: change.endswith(CRLF) for path, change in switched.items()}
    converted = gitutil.git_dir(checkout) / "forkkit-eol" / patch.name
    converted.parent.mkdir(exist_ok=True)
    converted.write_bytes(with_converted_blobs(checkout, convert(data, to_crlf), to_crlf))
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


def with_converted_blobs(checkout: Path, patch: bytes, to_crlf: dict[str, bool]) -> bytes:
    """Point the `index` lines of the converted files at converted copies of their blobs.

    `git am --3way` rebuilds the file the patch was made against from the preimage blob. Stored
    in the new endings, that base matches the converted hunks, so the 3-way merge still works
    when the release also changed the patch's context.
    """
    out = []
    target: bool | None = None
    for line in patch.splitlines(keepends=True):
        diff = _DIFF.match(line.rstrip(b"\r\n"))
        if diff:
            target = to_crlf.get(diff.group(2).decode())
        index = _INDEX.match(line)
        if index and target is not None:
            old, new = (
                _converted_blob(checkout, sha.decode(), target) for sha in index.group(1, 2)
            )
            line = b"index " + old.encode() + b".." + new.encode() + index.group(3)
        out.append(line)
    return b"".join(out)


def _converted_blob(checkout: Path, sha: str, crlf: bool) -> str:
    """The id of blob sha with its line endings converted (written to the object store)."""
    status, _, _ = gitutil.run_unchecked(checkout, "cat-file", "-e", f"{sha}^{{blob}}")
    if status != 0:
        return sha  # not in this repository (an abbreviated or foreign id): leave it
    text = gitutil.run_bytes(checkout, "cat-file", "blob", sha).replace(b"\r\n", b"\n")
    blob = text.replace(b"\n", b"\r\n") if crlf else text
    scratch = gitutil.git_dir(checkout) / "forkkit-eol" / "blob"
    scratch.write_bytes(blob)
    return gitutil.run(checkout, "hash-object", "-w", "--no-filters", str(scratch)).strip()


def _with_ending(line: bytes, crlf: bool) -> bytes:
    if not line.endswith(b"\n"):
        return line
    body = line[:-1].removesuffix(b"\r")
    return body + (b"\r\n" if crlf else b"\n")
