"""A loopback HTTP(S) proxy that lets nothing through and records who tried.

The CLI runs with HTTPS_PROXY/HTTP_PROXY pointing here and NO_PROXY covering loopback, so any
request it makes to anywhere but the proxy under test or the fakes lands here instead of leaving
the machine; the tests assert that nothing did.
"""

from __future__ import annotations

import socketserver
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.loopback import serving


@dataclass
class EgressTrap:
    attempts: list[str] = field(default_factory=list)
    url: str = ""


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline(1024).decode("latin-1").strip()
        self.server.trap.attempts.append(line)  # type: ignore[attr-defined]
        self.wfile.write(
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def egress_trap() -> Iterator[EgressTrap]:
    trap = EgressTrap()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.trap = trap  # type: ignore[attr-defined]
    trap.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield trap
