"""An index that is unreachable, silent, missing things or cuts off: one line, cache untouched."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

import pytest

from forkkit.checkout import ensure_pristine
from forkkit.pin import Pin
from tests.toolkit.fakes import BASE_FILES, FakeIndex, make_project, make_sdist
from tests.toolkit.faults import (
    WAIT,
    cache_snapshot,
    one_error_line,
    run_cli,
)

# --- the index is unreachable, silent, missing things, or cuts off -------------------------


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
