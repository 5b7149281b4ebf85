"""Synthetic releases, a loopback PEP 691 index, and project trees for the toolkit tests."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from forkkit.pin import Pin, save_pin
from forkkit.project import Project
from forkkit.release import Release, patches_digest, save_release
from forkkit.series import load_series, render_series
from tests.loopback import serving

BASE_FILES = {
    "demo/__init__.py": "VERSION = '1.0'\n",
    "demo/headers.py": "".join(f"line {n}\n" for n in range(1, 41)),
    "README.md": "demo release\n",
}


def make_sdist(name: str, version: str, files: dict[str, str]) -> bytes:
    """A reproducible .tar.gz with one top-level directory, like a real sdist."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for path, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-{version}/{path}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class FakeIndex:
    """Serves /simple/<project>/ as PEP 691 JSON and the files it lists, on loopback."""

    routes: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def publish(self, project: str, version: str, data: bytes, listed_sha256: str = "") -> str:
        return self.publish_file(project, f"{project}-{version}.tar.gz", data, listed_sha256)

    def publish_file(
        self, project: str, filename: str, data: bytes, listed_sha256: str = ""
    ) -> str:
        """Serve data as filename and list it on the project page (with listed_sha256 if given)."""
        self.routes[f"/files/{filename}"] = ("application/octet-stream", data)
        page_path = f"/simple/{project}/"
        page = json.loads(self.routes.get(page_path, ("", b'{"files": []}'))[1])
        sha256 = listed_sha256 or hashlib.sha256(data).hexdigest()
        page["files"].append(
            {"filename": filename, "url": f"../../files/{filename}", "hashes": {"sha256": sha256}}
        )
        self.routes[page_path] = ("application/vnd.pypi.simple.v1+json", json.dumps(page).encode())
        return sha256


@contextmanager
def serve_index() -> Iterator[FakeIndex]:
    index = FakeIndex()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            index.requests.append(self.path)
            self.wfile.write(self._headers())

        def do_HEAD(self) -> None:  # uv asks before it reads a wheel's metadata
            self._headers()

        def _headers(self) -> bytes:
            content_type, body = index.routes.get(self.path, ("text/plain", b""))
            self.send_response(200 if self.path in index.routes else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return body

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with serving(server):
        index.url = f"http://127.0.0.1:{server.server_port}/simple/"
        yield index


def make_project(root: Path, pin: Pin, series: tuple[str, ...] = ()) -> Project:
    save_pin(pin, root / "upstream" / "pin.toml")
    (root / "patches").mkdir(parents=True, exist_ok=True)
    (root / "patches" / "series").write_text(render_series(list(series)))
    project = Project(root)
    empty = patches_digest(load_series(project.series_file))
    save_release(Release("fork", 1, empty), project.release_file)
    return project


def git(repo: Path, *args: str) -> str:
    """Run git as a person in the checkout would, with a throwaway identity."""
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=repo, check=True, capture_output=True, text=True
    )
    return done.stdout


def commit_edit(checkout: Path, path: str, old: str, new: str, message: str) -> None:
    """Edit one file in the checkout and commit it, as a patch author would."""
    target = checkout / path  # bytes, so CRLF files stay CRLF
    target.write_bytes(target.read_bytes().replace(old.encode(), new.encode(), 1))
    git(checkout, "commit", "--quiet", "-am", message)


PATCH_MESSAGE = """{subject}

Why this change is needed.

Origin: vendor
Forwarded: no
Applied-Upstream: no
Last-Update: 2026-11-23
"""
