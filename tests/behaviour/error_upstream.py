"""An upstream on a loopback port that answers every request with one error status (stdlib only)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..loopback import start_serving, stop_serving


class _ErrorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ErrorServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        kind = "authentication_error" if self.server.status == 401 else "api_error"
        data = json.dumps({"type": "error", "error": {"type": kind, "message": "no"}}).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _handle


class ErrorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, status: int) -> None:
        super().__init__(("127.0.0.1", 0), _ErrorHandler)
        self.status = status

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def start_error_server(status: int) -> ErrorServer:
    server = ErrorServer(status)
    start_serving(server, f"upstream-{status}")
    return server


def stop_error_server(server: ErrorServer) -> None:
    stop_serving(server)
