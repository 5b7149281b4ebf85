"""Serving a test's stdlib HTTP server on a thread, and stopping it without waiting."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import BaseServer
from typing import TypeVar

# socketserver polls for shutdown every 0.5 s by default: every stop would wait that long.
SHUTDOWN_POLL_S = 0.02
S = TypeVar("S", bound=BaseServer)


def start_serving(server: BaseServer, name: str = "loopback-server") -> None:
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": SHUTDOWN_POLL_S},
        name=name,
        daemon=True,
    )
    thread.start()


def stop_serving(server: BaseServer) -> None:
    server.shutdown()
    server.server_close()


@contextmanager
def serving(server: S, name: str = "loopback-server") -> Iterator[S]:
    start_serving(server, name)
    try:
        yield server
    finally:
        stop_serving(server)
