"""Finish what a killed apply left behind, without touching what a human is doing.

apply writes a marker under .git for the stretch in which it rewrites `patched` (after its safety
checks, until its state is recorded). A `git am` stopped by a conflict removes the marker before
apply reports it: that checkout now belongs to the human resolving it and stays refused. So a
marker found by a later apply, which holds the checkout lock, was left by a run that died: its
`git am`, stale `index.lock` and half-written files are the tool's own and can be cleared. Even
then nothing is discarded that could be someone's: leftover edits are stashed, and commits the
tool did not make are kept on a branch.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from forkkit import gitutil
from forkkit.errors import ForkKitError

MARKER_NAME = "forkkit-apply-running.json"
QUIET_INTERVAL = 0.2  # .git must stay unchanged this long before recovery touches it
QUIET_LIMIT = 30.0  # give up (and say so) when a git keeps working in the checkout this long
_WATCHED = ("index", "index.lock", "HEAD", "ORIG_HEAD", "packed-refs", "rebase-apply/next")


def marker_path(checkout: Path) -> Path:
    return gitutil.git_dir(checkout) / MARKER_NAME


def interrupted(checkout: Path) -> bool:
    return marker_path(checkout).is_file()


@contextmanager
def rewriting(checkout: Path, branch: str, base: str, before: str | None) -> Iterator[None]:
    """Mark the checkout as being rewritten by this run, from base, while the block runs.

    The marker stays behind if the process dies or is interrupted; it is removed when the block
    completes, and when it stops at a `git am` conflict (the human's to resolve, not ours).
    """
    path = marker_path(checkout)
    record = {
        "schema": "forkkit.apply-running",  # read leniently: only a dead run's hints are in it
        "schema_version": 1,
        "pid": os.getpid(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "branch": branch,
        "base": base,
        "before": before or "",
    }
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(record, indent=2) + "\n")
    temp.replace(path)
    try:
        yield
    except ForkKitError:
        if gitutil.am_in_progress(checkout):
            path.unlink(missing_ok=True)
        raise
    path.unlink(missing_ok=True)


def recover(checkout: Path, fallback_base: str, recorded_head: str | None) -> list[str]:
    """Undo a dead apply's half-done rewrite of its branch; notes say what was kept where.

    The caller holds the checkout lock. Afterwards the branch is at the upstream commit the dead
    run started from, with a clean work tree, so apply can redo the series from scratch.
    """
    path = marker_path(checkout)
    if not path.is_file():
        return []
    record = _read(path)
    branch = str(record.get("branch") or "patched")
    base = str(record.get("base") or "")
    if not base or gitutil.rev(checkout, f"{base}^{{commit}}") is None:
        base = fallback_base
    git_dir = gitutil.git_dir(checkout)
    notes = [
        f"an earlier apply (pid {record.get('pid', '?')}, started {record.get('started', '?')}) "
        f"was interrupted; redoing it"
    ]
    _wait_until_quiet(checkout, git_dir)
    stale = [*git_dir.glob("*.lock"), *git_dir.glob("refs/**/*.lock")]
    for lock in stale:  # no git works here any more: these locks died with their owner
        lock.unlink(missing_ok=True)
    if stale:
        names = ", ".join(str(lock.relative_to(git_dir)) for lock in stale)
        notes.append(f"removed the stale git lock(s) {names} the interrupted run left")
    if gitutil.am_in_progress(checkout):  # its state may be half-written: `am --quit` chokes
        shutil.rmtree(git_dir / "rebase-apply")
    if gitutil.is_dirty(checkout):
        label = f"forkkit: left by an interrupted apply {time.strftime('%Y-%m-%d %H:%M:%S')}"
        gitutil.run(checkout, "stash", "push", "--include-untracked", "--quiet", "-m", label)
        notes.append(f"stashed what the interrupted run left in the work tree as '{label}'")
    tip = gitutil.rev(checkout, f"refs/heads/{branch}")
    known = {base, str(record.get("before") or ""), recorded_head or ""}
    if tip is not None and tip not in known and not _made_by_the_tool(checkout, base, tip):
        backup = f"{branch}-interrupted-{time.strftime('%Y%m%d-%H%M%S')}"
        gitutil.run(checkout, "branch", "--force", backup, tip)
        notes.append(f"kept commits the tool did not make on branch {backup}")
    gitutil.run(checkout, "checkout", "--quiet", "-B", branch, base)
    path.unlink()
    return notes


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _made_by_the_tool(checkout: Path, base: str, tip: str) -> bool:
    """Whether base..tip holds only commits the toolkit's own `git am` made."""
    if not gitutil.is_ancestor(checkout, base, tip):
        return False
    tool = gitutil.TOOL_IDENTITY["GIT_COMMITTER_EMAIL"]
    committers = gitutil.run(checkout, "log", "--format=%ce", f"{base}..{tip}").split()
    return all(email == tool for email in committers)


def _wait_until_quiet(checkout: Path, git_dir: Path) -> None:
    """Wait for gits that outlived their apply (a SIGKILL spares its children), or a human's.

    Quiet means no git process works in the checkout (where /proc tells) and .git did not change
    for QUIET_INTERVAL.
    """
    deadline = time.monotonic() + QUIET_LIMIT
    before = _fingerprint(git_dir)
    while True:
        time.sleep(QUIET_INTERVAL)
        busy = git_processes_in(checkout)
        after = _fingerprint(git_dir)
        if not busy and after == before:
            return
        if time.monotonic() > deadline:
            who = f"git (pid {busy[0]})" if busy else "something"
            raise ForkKitError(
                f"{who} is still changing {checkout}; let it finish, then run apply again"
            )
        before = after


def _fingerprint(git_dir: Path) -> tuple[object, ...]:
    found: list[object] = []
    for name in _WATCHED:
        try:
            stat = (git_dir / name).stat()
        except OSError:
            found.append(None)
        else:
            found.append((stat.st_ino, stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def git_processes_in(checkout: Path) -> list[int]:
    """Pids of git processes whose working directory is in the checkout (Linux; else none)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    root = checkout.resolve()
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if not (entry / "comm").read_text().startswith("git"):
                continue
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:  # gone meanwhile, or not ours to look at
            continue
        if cwd == root or root in cwd.parents:
            found.append(int(entry.name))
    return sorted(found)
