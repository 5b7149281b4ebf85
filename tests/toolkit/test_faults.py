"""Fault tolerance: killed runs, concurrent runs, a misbehaving index, a damaged cache or checkout.

Every process a test starts runs in its own session and is killed (with anything it left
running) and reaped in a finally block; every wait is bounded.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path

import pytest

from forkkit.apply import apply, refuse_if_am_in_progress
from forkkit.checkout import ensure_pristine, pristine_repo_path
from forkkit.errors import ForkKitError
from forkkit.fetch import artifact_path, sha256_of
from forkkit.interrupted import MARKER_NAME
from forkkit.pin import Pin, load_pin
from forkkit.project import Project
from forkkit.series import render_series
from tests.toolkit.fakes import BASE_FILES, FakeIndex, git, make_project, make_sdist

WAIT = 20.0  # upper bound for anything a test waits on; a healthy run takes well under 5 s


# --- helpers ----------------------------------------------------------------------------------


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


# --- 1. an interrupted apply is redone; a conflict stop is not ----------------------------------


@pytest.mark.parametrize("kill", ["run-and-its-git", "python-only"])
def test_apply_killed_mid_am_is_redone_by_the_next_run(project: Project, kill: str) -> None:
    """SIGKILL while `git am` is half-way through the series; the next apply finishes the job.

    run-and-its-git: the whole process group dies (git am too, maybe holding index.lock).
    python-only: only the apply process dies; its git am lives on and the next run must wait
    for it instead of racing it.
    """
    apply(project)  # warm: cache and checkout at upstream
    count = 40
    write_gen_series(project, count)
    git_dir = project.checkout_dir / ".git"
    rebase_apply = git_dir / "rebase-apply"

    def am_is_under_way() -> bool:
        with suppress(OSError, ValueError):
            return int((rebase_apply / "next").read_text()) >= 4
        return False

    with started(project, "apply") as proc:
        wait_for("git am got under way", am_is_under_way, proc)
        if kill == "python-only":
            proc.send_signal(signal.SIGKILL)
        else:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=WAIT)
        assert (git_dir / MARKER_NAME).is_file()
        if kill == "run-and-its-git":
            assert rebase_apply.is_dir()  # the kill landed mid-am
            for lock in ("index.lock", "HEAD.lock", "refs/heads/patched.lock"):
                (git_dir / lock).touch()  # as a git killed at the worst moment leaves them
            with pytest.raises(ForkKitError, match="interrupted apply left a `git am`"):
                refuse_if_am_in_progress(project.checkout_dir)  # what export says meanwhile
        result = apply(project)

    assert result.applied is True
    assert "was interrupted" in result.notes[0]
    assert not any("kept commits" in note for note in result.notes)  # they were all the tool's
    assert git(project.checkout_dir, "branch", "--list", "patched-*") == ""
    assert_matches_gen_series(project, count)


def test_interrupted_run_keeps_what_a_human_did_since(project: Project) -> None:
    """After the crash someone edits and commits in the checkout: the redo keeps both."""
    apply(project)
    write_gen_series(project, 40)
    checkout = project.checkout_dir
    rebase_apply = checkout / ".git" / "rebase-apply"
    with started(project, "apply") as proc:
        wait_for("git am got under way", lambda: (rebase_apply / "next").is_file(), proc)
        time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=WAIT)
    for lock in (checkout / ".git").rglob("*.lock"):  # as git's own message advises
        lock.unlink()
    (checkout / "mine.txt").write_text("a human's file\n")
    git(checkout, "add", "mine.txt")
    git(checkout, "commit", "--quiet", "-m", "mine: keep this")
    (checkout / "scratch.txt").write_text("uncommitted notes\n")

    result = apply(project)

    backup = next(n for n in result.notes if "kept commits" in n).split()[-1]
    assert git(checkout, "show", f"{backup}:mine.txt") == "a human's file\n"
    assert any("stashed" in note for note in result.notes)
    assert "left by an interrupted apply" in git(checkout, "stash", "list")
    assert git(checkout, "show", "stash@{0}^3:scratch.txt") == "uncommitted notes\n"
    assert not (checkout / "scratch.txt").exists()
    assert_matches_gen_series(project, 40)


def big_release(index: FakeIndex) -> Pin:
    """A release with enough files that importing and cloning it take a visible moment."""
    files = {**BASE_FILES, **{f"demo/bulk/m{n:04d}.py": f"n = {n}\n" for n in range(600)}}
    sha256 = index.publish("demo", "1.0", make_sdist("demo", "1.0", files))
    return Pin("demo", "1.0", "index", sha256=sha256, artifact="demo-1.0.tar.gz")


@pytest.mark.parametrize("stage", ["importing", "cloning"])
def test_apply_killed_while_materialising_is_redone(
    tmp_path: Path, index: FakeIndex, stage: str
) -> None:
    project = make_project(tmp_path / "big", big_release(index))
    write_gen_series(project, 3)
    repos = project.cache_dir / "repos"
    parent = project.checkout_dir.parent

    def scratch() -> list[Path]:
        if stage == "importing":
            return list(repos.glob(".import-*")) if repos.is_dir() else []
        return list(parent.glob(".demo.staging-*")) if parent.is_dir() else []

    with started(project, "apply") as proc:
        wait_for(f"{stage} began", lambda: bool(scratch()), proc)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=WAIT)
        assert scratch(), "the kill landed after the stage it was meant to interrupt"
        assert not project.checkout_dir.exists()
        result = apply(project)

    assert result.applied is True
    assert scratch() == []  # the dead run's scratch copy is cleared, not left to pile up
    assert [p.name for p in repos.iterdir() if p.name != ".lock"] == [
        pristine_repo_path(project.cache_dir, load_pin(project.pin_file)).name
    ]
    assert_matches_gen_series(project, 3)


def test_conflict_stop_is_still_refused_and_left_alone(project: Project) -> None:
    """A `git am` stopped by a conflict is the human's: no marker, refused, nothing reset."""
    apply(project)
    names = write_gen_series(project, 2)
    broken = (
        "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
        "From: Patch Author <author@example.invalid>\n"
        "Subject: [PATCH] headers: edit a line that is not there\n\n---\n\n"
        "diff --git a/demo/headers.py b/demo/headers.py\n"
        "--- a/demo/headers.py\n"
        "+++ b/demo/headers.py\n"
        "@@ -10,3 +10,3 @@\n"
        " line 10\n-no such line\n+line eleven\n line 12\n"
    )
    (project.patches_dir / "0003-broken.patch").write_text(broken)
    project.series_file.write_text(render_series([*names, "0003-broken.patch"]))
    checkout = project.checkout_dir

    first = run_cli(project, "apply")
    assert "0003-broken.patch" in one_error_line(first)
    assert (checkout / ".git" / "rebase-apply").is_dir()
    assert not (checkout / ".git" / MARKER_NAME).exists()
    (checkout / "demo/headers.py").write_text("a human resolving the conflict\n")

    second = run_cli(project, "apply")
    assert "a `git am` is stopped" in one_error_line(second)
    assert (checkout / ".git" / "rebase-apply").is_dir()
    assert (checkout / "demo/headers.py").read_text() == "a human resolving the conflict\n"
    assert git(checkout, "stash", "list") == ""


# --- 2. two applies at once ---------------------------------------------------------------------


@pytest.mark.parametrize("checkouts", ["one-checkout", "two-checkouts"])
def test_two_applies_at_once_share_cache_and_checkout(
    tmp_path: Path,
    project: Project,
    index: FakeIndex,
    release: Pin,
    checkouts: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_gen_series(project, 20)
    other = tmp_path / "other-checkout"
    envs = [{}, {"FORKKIT_CHECKOUT": str(other)} if checkouts == "two-checkouts" else {}]
    with (
        started(project, "apply", env=envs[0]) as first,
        started(project, "apply", env=envs[1]) as second,
    ):
        outs = [proc.communicate(timeout=WAIT) for proc in (first, second)]
        codes = [first.returncode, second.returncode]
    assert codes == [0, 0], outs
    said = sorted(out.split()[0] for out, _ in outs)
    if checkouts == "one-checkout":  # the second waited for the first and found it done
        assert said == ["already", "applied"]
        assert sorted(p.name for p in project.checkout_dir.parent.iterdir()) == [
            ".demo.lock",
            "demo",
        ]
    else:
        assert said == ["applied", "applied"]
    assert index.requests.count("/files/demo-1.0.tar.gz") == 1  # downloaded once, shared
    cached = artifact_path(project.cache_dir, release.sha256, release.artifact)
    assert sha256_of(cached) == release.sha256
    assert not list(cached.parent.glob(".part-*"))
    repos = sorted(p.name for p in (project.cache_dir / "repos").iterdir())
    assert repos == [".lock", pristine_repo_path(project.cache_dir, release).name]
    assert_matches_gen_series(project, 20)
    if checkouts == "two-checkouts":
        monkeypatch.setenv("FORKKIT_CHECKOUT", str(other))
        assert_matches_gen_series(project, 20)


# --- 3. the index is unreachable, silent, missing things, or cuts off -------------------------


class MisbehavingIndex:
    """A loopback index whose answers go wrong in one chosen way; stalls end at shutdown."""

    def __init__(self, data: bytes, fault: str) -> None:
        self.data, self.fault = data, fault
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/simple/"
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> MisbehavingIndex:
        self.acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in [self.acceptor, *self.threads]:
            thread.join(timeout=5)
        self.listener.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, suppress(OSError):  # the client may give up first: that is the point
            if self.fault == "silent":  # accepts, reads nothing, answers nothing
                self.stop.wait(WAIT)
                return
            conn.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            path = request.split(b" ", 2)[1].decode()
            if path == "/simple/demo/":
                page = {
                    "files": [
                        {
                            "filename": "demo-1.0.tar.gz",
                            "url": f"http://127.0.0.1:{self.port}/files/demo-1.0.tar.gz",
                            "hashes": {"sha256": self.sha256},
                        }
                    ]
                }
                body, kind = json.dumps(page).encode(), "application/vnd.pypi.simple.v1+json"
                part = "page"
            else:
                body, kind, part = self.data, "application/octet-stream", "file"
            head = f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
            conn.sendall(head.encode() + b"Connection: close\r\n\r\n")
            if self.fault == f"{part}-stalls":
                conn.sendall(body[: len(body) // 2])
                self.stop.wait(WAIT)
            elif self.fault == f"{part}-cut":
                conn.sendall(body[: len(body) // 2])
            else:
                conn.sendall(body)


@pytest.fixture
def warm_other_release(index: FakeIndex, tmp_path: Path) -> dict[str, str]:
    """A cache that already holds another release, and its snapshot."""
    data = make_sdist("demo", "0.9", BASE_FILES)
    pin = Pin("demo", "0.9", "index", sha256=index.publish("demo", "0.9", data))
    ensure_pristine(replace(pin, artifact="demo-0.9.tar.gz"), tmp_path / "cache")
    return cache_snapshot(tmp_path / "cache")


FAULTS = {
    "refused": "cannot reach the package index at http://127.0.0.1:",
    "silent": "cannot reach the package index at http://127.0.0.1:{port}/simple/demo/: timed out",
    "page-stalls": "reading http://127.0.0.1:{port}/simple/demo/ from the package index failed: "
    "timed out",
    "page-cut": "reading http://127.0.0.1:{port}/simple/demo/ from the package index failed: "
    "IncompleteRead",
    "file-stalls": "download of http://127.0.0.1:{port}/files/demo-1.0.tar.gz failed: timed out",
    "file-cut": "sha256 mismatch for demo-1.0.tar.gz: pinned {sha256}, downloaded ",
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_misbehaving_index_is_one_line_and_leaves_the_cache_alone(
    tmp_path: Path, warm_other_release: dict[str, str], fault: str
) -> None:
    data = make_sdist("demo", "1.0", BASE_FILES)
    with MisbehavingIndex(data, fault) as server:
        port = server.port
        if fault == "refused":
            server.listener.close()
        pin = Pin("demo", "1.0", "index", sha256=server.sha256, artifact="demo-1.0.tar.gz")
        project = make_project(tmp_path / "project", pin)
        began = time.monotonic()
        done = run_cli(
            project, "apply", env={"PIP_INDEX_URL": server.url, "FORKKIT_TIMEOUT": "0.5"}
        )
        took = time.monotonic() - began
    expected = FAULTS[fault].format(port=port, sha256=server.sha256)
    assert one_error_line(done).startswith(f"error: {expected}")
    assert took < 4, f"FORKKIT_TIMEOUT=0.5 was not honoured: {took:.1f} s"
    assert cache_snapshot(tmp_path / "cache") == warm_other_release
    assert not project.checkout_dir.exists()


@pytest.mark.parametrize("missing", ["project-page", "sdist-file"])
def test_index_404_is_one_line_and_leaves_the_cache_alone(
    tmp_path: Path,
    index: FakeIndex,
    release: Pin,
    warm_other_release: dict[str, str],
    missing: str,
) -> None:
    if missing == "project-page":
        del index.routes["/simple/demo/"]
        where = f"{index.url}demo/"
    else:
        del index.routes["/files/demo-1.0.tar.gz"]
        where = index.url.replace("/simple/", "/files/demo-1.0.tar.gz")
    project = make_project(tmp_path / "project", release)
    done = run_cli(project, "apply")
    assert one_error_line(done) == f"error: package index answered 404 for {where}\n"
    assert cache_snapshot(tmp_path / "cache") == warm_other_release
    assert not project.checkout_dir.exists()


# --- 4. damaged downloads and cache entries ---------------------------------------------------


def test_truncated_download_is_discarded(tmp_path: Path, index: FakeIndex, release: Pin) -> None:
    """The index serves the file cut short (a proxy that truncates, with a matching length)."""
    route = index.routes["/files/demo-1.0.tar.gz"]
    index.routes["/files/demo-1.0.tar.gz"] = (route[0], route[1][: len(route[1]) // 2])
    project = make_project(tmp_path / "project", release)
    done = run_cli(project, "apply")
    assert "the download was discarded and nothing was extracted" in one_error_line(done)
    assert cache_snapshot(project.cache_dir) == {}


@pytest.mark.parametrize("next_run", ["fetch", "apply", "apply-rebuilding"])
def test_artifact_damaged_on_disk_is_removed_and_fetched_again(
    project: Project, index: FakeIndex, release: Pin, next_run: str
) -> None:
    apply(project)
    cached = artifact_path(project.cache_dir, release.sha256, release.artifact)
    good = cached.read_bytes()
    cached.write_bytes(good[: len(good) // 2] + b"bit rot")
    downloads = index.requests.count("/files/demo-1.0.tar.gz")
    if next_run == "apply-rebuilding":  # the pristine repo and the checkout must be rebuilt
        subprocess.run(
            ["rm", "-rf", str(pristine_repo_path(project.cache_dir, release))], check=True
        )
        subprocess.run(["rm", "-rf", str(project.checkout_dir)], check=True)
    if next_run == "fetch":
        done = run_cli(project, "fetch")
        assert done.returncode == 0, done.stderr
        assert "removed a damaged cached demo-1.0.tar.gz" in done.stdout
    else:
        apply(project)
    assert cached.read_bytes() == good
    assert index.requests.count("/files/demo-1.0.tar.gz") == downloads + 1
    assert not list(cached.parent.glob(".part-*"))
    assert_matches_gen_series(project, 0)


def damage_pristine(repo: Path, how: str) -> None:
    if how == "empty-dir":
        subprocess.run(["rm", "-rf", str(repo)], check=True)
        repo.mkdir()
    elif how == "init-only":  # an import killed before its commit, by a non-atomic writer
        subprocess.run(["rm", "-rf", str(repo)], check=True)
        git(repo.parent, "init", "--quiet", "--bare", str(repo))
    elif how == "objects-lost":
        for loose in repo.glob("objects/??"):
            subprocess.run(["rm", "-rf", str(loose)], check=True)
    elif how == "one-blob-lost":
        blob = git(repo, "rev-parse", "upstream/1.0:demo/headers.py").strip()
        (repo / "objects" / blob[:2] / blob[2:]).unlink()
    elif how == "import-scratch-left":  # a killed import's scratch next to a whole entry
        (repo.parent / ".import-abc123" / "src").mkdir(parents=True)


@pytest.mark.parametrize(
    "how", ["empty-dir", "init-only", "objects-lost", "one-blob-lost", "import-scratch-left"]
)
def test_half_written_pristine_repo_is_rebuilt(project: Project, release: Pin, how: str) -> None:
    apply(project)
    subprocess.run(["rm", "-rf", str(project.checkout_dir)], check=True)  # so it is cloned again
    repo = pristine_repo_path(project.cache_dir, release)
    damage_pristine(repo, how)
    write_gen_series(project, 2)
    assert apply(project).applied is True
    assert git(repo, "rev-list", "--objects", "upstream/1.0").count("\n") > 3
    assert list(repo.parent.glob(".import-*")) == []
    assert_matches_gen_series(project, 2)


# --- 5. a corrupted checkout is set aside and rebuilt -----------------------------------------


def asides(project: Project) -> list[Path]:
    return sorted(project.checkout_dir.parent.glob(f"{project.checkout_dir.name}.broken-*"))


def corrupt_checkout(checkout: Path, how: str) -> None:
    if how == "empty-dir":
        subprocess.run(["rm", "-rf", str(checkout)], check=True)
        checkout.mkdir()
    elif how == "no-git":
        subprocess.run(["rm", "-rf", str(checkout / ".git")], check=True)
        (checkout / "notes.txt").write_text("a human's notes\n")
    elif how == "broken-git":
        subprocess.run(["rm", "-rf", str(checkout / ".git")], check=True)
        (checkout / ".git").mkdir()
        (checkout / "notes.txt").write_text("a human's notes\n")
    elif how == "a-file":
        subprocess.run(["rm", "-rf", str(checkout)], check=True)
        checkout.write_text("a human's notes\n")
    elif how == "wrong-tag":  # upstream/1.0 moved to another tree; a human's branch is there
        git(checkout, "checkout", "--quiet", "-b", "mine", "upstream/1.0")
        (checkout / "README.md").write_text("not the release\n")
        git(checkout, "commit", "--quiet", "-am", "not the release")
        git(checkout, "tag", "--force", "upstream/1.0", "mine")


@pytest.mark.parametrize("how", ["empty-dir", "no-git", "broken-git", "a-file", "wrong-tag"])
def test_corrupted_checkout_is_set_aside_and_rebuilt(
    project: Project, release: Pin, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_gen_series(project, 2)
    apply(project)
    checkout = project.checkout_dir
    corrupt_checkout(checkout, how)
    capsys.readouterr()

    assert apply(project).applied is True

    said = capsys.readouterr().out
    pristine = pristine_repo_path(project.cache_dir, release)
    assert git(checkout, "rev-parse", "upstream/1.0^{tree}") == git(
        pristine, "rev-parse", "upstream/1.0^{tree}"
    )
    assert_matches_gen_series(project, 2)
    if how == "empty-dir":
        assert asides(project) == [] and said == ""
        return
    (aside,) = asides(project)
    assert f"moved it to {aside}" in said
    if how == "a-file":
        assert aside.read_text() == "a human's notes\n"
    elif how == "wrong-tag":
        assert "does not hold the pinned release" in said
        assert git(aside, "log", "-1", "--format=%s", "mine").strip() == "not the release"
        assert git(aside, "rev-parse", "upstream/1.0") == git(aside, "rev-parse", "mine")
    else:
        assert (aside / "notes.txt").read_text() == "a human's notes\n"
        assert (aside / "demo/gen/f002.py").read_text() == "value = 2\n"


def test_set_aside_never_overwrites_an_earlier_one(project: Project) -> None:
    apply(project)
    checkout = project.checkout_dir
    now = time.time()
    earlier = []
    for offset in range(6):  # every name a set-aside could pick in the next few seconds
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now + offset))
        aside = checkout.with_name(f"{checkout.name}.broken-{stamp}")
        aside.mkdir()
        (aside / "kept.txt").write_text(stamp)
        earlier.append(aside)
    subprocess.run(["rm", "-rf", str(checkout / ".git")], check=True)
    (checkout / "notes.txt").write_text("a human's notes\n")

    apply(project)

    assert all((a / "kept.txt").read_text() == a.name.split("-", 1)[1] for a in earlier)
    (new,) = [a for a in asides(project) if a not in earlier]
    assert (new / "notes.txt").read_text() == "a human's notes\n"
    assert_matches_gen_series(project, 0)
