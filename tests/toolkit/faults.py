"""Shared by the fault tests: the CLI as a child process, a generated series, cache snapshots.

Every process a test starts runs in its own session and is killed (with anything it left
running) and reaped in a finally block; every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from forkkit.apply import apply
from forkkit.digest import sha256_of
from forkkit.interrupted import MARKER_NAME
from forkkit.project import Project
from forkkit.series import render_series
from tests.toolkit.fakes import BASE_FILES, git

WAIT = 20.0  # upper bound for anything a test waits on; a healthy run takes well under 5 s


def cli_command(project: Project, *args: str) -> list[str]:
    return [sys.executable, "-m", "forkkit", "--root", str(project.root), *args]


def run_cli(
    project: Project, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(project, *args),
        capture_output=True,
        text=True,
        check=False,
        timeout=WAIT,
        env={**os.environ, **(env or {})},
    )


@contextmanager
def started(
    project: Project, *args: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`python -m forkkit …` in its own process group; it and its children die on the way out."""
    proc = subprocess.Popen(
        cli_command(project, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    try:
        yield proc
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # also any git it left running
        proc.communicate(timeout=WAIT)


def wait_for(what: str, condition: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    """Poll condition until it holds; fail if proc finishes first or time runs out."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate(timeout=WAIT)
            pytest.fail(f"the run ended (rc {proc.returncode}) before {what}: {out}{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.001)


def gen_patch(number: int) -> tuple[str, str]:
    """A format-patch style patch adding demo/gen/fNNN.py: (file name, text)."""
    path = f"demo/gen/f{number:03d}.py"
    text = (
        "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
        "From: Patch Author <author@example.invalid>\n"
        f"Subject: [PATCH] gen: add f{number:03d}\n\n"
        "Origin: vendor\nForwarded: no\n---\n\n"
        f"diff --git a/{path} b/{path}\n"
        "new file mode 100644\n"
        "--- /dev/null\n"
        f"+++ b/{path}\n"
        "@@ -0,0 +1 @@\n"
        f"+value = {number}\n"
    )
    return f"{number:04d}-gen-add-f{number:03d}.patch", text


def write_gen_series(project: Project, count: int) -> list[str]:
    names = []
    for number in range(1, count + 1):
        name, text = gen_patch(number)
        (project.patches_dir / name).write_text(text)
        names.append(name)
    project.series_file.write_text(render_series(names))
    return names


def assert_matches_gen_series(project: Project, count: int) -> None:
    """The checkout is exactly upstream + the generated series, clean, recorded as applied."""
    checkout = project.checkout_dir
    subjects = git(checkout, "log", "--reverse", "--format=%s", "upstream/1.0..patched").split("\n")
    assert subjects[:-1] == [f"gen: add f{n:03d}" for n in range(1, count + 1)]
    assert git(checkout, "rev-parse", "--abbrev-ref", "HEAD").strip() == "patched"
    assert git(checkout, "status", "--porcelain") == ""
    generated = git(checkout, "ls-files", "demo/gen").split()
    assert generated == [f"demo/gen/f{n:03d}.py" for n in range(1, count + 1)]
    for n in range(1, count + 1):
        assert (checkout / f"demo/gen/f{n:03d}.py").read_text() == f"value = {n}\n"
    assert (checkout / "demo/headers.py").read_text() == BASE_FILES["demo/headers.py"]
    git_dir = checkout / ".git"
    assert not (git_dir / "rebase-apply").exists()
    assert not (git_dir / MARKER_NAME).exists()
    assert list(git_dir.rglob("*.lock")) == []
    assert apply(project).applied is False  # recorded: the next run is a no-op


def cache_snapshot(cache: Path) -> dict[str, str]:
    """Every file in the cache but the (empty) lock files, with its sha256."""
    if not cache.exists():
        return {}
    return {
        str(p.relative_to(cache)): sha256_of(p)
        for p in sorted(cache.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    return done.stderr
