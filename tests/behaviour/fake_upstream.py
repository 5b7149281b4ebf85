"""A recording fake of the Anthropic API on a loopback port (stdlib only).

Every request is recorded (method, path, query, headers with their original casing, body).
Answers: 401 with an Anthropic-shaped error when no credential header arrives, an SSE stream
when the JSON body says ``"stream": true``, a JSON message otherwise.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..loopback import start_serving, stop_serving

CREDENTIAL_HEADERS = ("x-api-key", "authorization")
# A redirect's target path starts with this, so the target answers normally (no redirect loop).
REDIRECTED_PREFIX = "/redirected"
HOLD_TIMEOUT_S = 10.0

MESSAGE: dict[str, Any] = {
    "id": "msg_fake_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5-20251001",
    "content": [{"type": "text", "text": "hello from the fake upstream"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 5},
}
# What an OpenAI-compatible deployment answers on .../chat/completions.
CHAT_COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-fake-01",
    "object": "chat.completion",
    "created": 1764633600,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "hello from the fake upstream"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
}
AUTH_ERROR: dict[str, Any] = {
    "type": "error",
    "error": {"type": "authentication_error", "message": "x-api-key header is required"},
}


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


FIRST_EVENT = _sse(
    "message_start", {"type": "message_start", "message": {**MESSAGE, "content": []}}
)
REST_EVENTS = [
    _sse(
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ),
    _sse(
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "hello from the fake upstream"},
        },
    ),
    _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
    _sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 5},
        },
    ),
    _sse("message_stop", {"type": "message_stop"}),
]


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any casing); None when absent."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def has_header(self, name: str) -> bool:
        return bool(self.header_values(name))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeAnthropic:
    """Recording state shared with the handler threads."""

    requests: list[RecordedRequest] = field(default_factory=list)
    hold: threading.Event | None = None
    # (status, base): answer every request outside REDIRECTED_PREFIX with `status` and
    # `Location: <base><path>?<query>`, as an upstream that moved (or an attacker's) would
    redirect: tuple[int, str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
        self.hold = None
        self.redirect = None

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def only_request(self) -> RecordedRequest:
        with self.lock:
            assert len(self.requests) == 1, f"expected 1 upstream request, got {self.requests!r}"
            return self.requests[0]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without TCP_NODELAY each small response waits ~40 ms for the proxy's delayed ACK.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        recorded = RecordedRequest(
            method=self.command,
            path=split.path,
            query=parse_qsl(split.query, keep_blank_values=True),
            raw_query=split.query,
            headers=list(self.headers.items()),
            body=body,
        )
        self.server.fake.record(recorded)
        redirect = self.server.fake.redirect
        if redirect is not None and not split.path.startswith(REDIRECTED_PREFIX):
            self._send_redirect(*redirect)
        elif not any(recorded.has_header(name) for name in CREDENTIAL_HEADERS):
            self._send_json(401, AUTH_ERROR)
        elif split.path.endswith("/chat/completions"):
            self._send_json(200, CHAT_COMPLETION)
        elif _wants_stream(body):
            self._send_stream()
        else:
            self._send_json(200, MESSAGE)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_redirect(self, status: int, base: str) -> None:
        query = f"?{urlsplit(self.path).query}" if urlsplit(self.path).query else ""
        self.send_response(status)
        self.send_header("Location", f"{base}{REDIRECTED_PREFIX}{urlsplit(self.path).path}{query}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._chunk(FIRST_EVENT)
        hold = self.server.fake.hold
        if hold is not None and not hold.wait(HOLD_TIMEOUT_S):
            self.close_connection = True  # the caller never confirmed event 1: cut the stream
            return
        for event in REST_EVENTS:
            self._chunk(event)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops bursts of connections (the load test sends 200).
    request_queue_size = 256

    def __init__(self, fake: FakeAnthropic, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.fake = fake


def _wants_stream(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("stream") is True


def start_fake_anthropic(host: str = "127.0.0.1") -> FakeAnthropic:
    """Start a fake on a free port of loopback `host`; stop it with :func:`stop_fake_anthropic`.

    Another loopback address (127.0.0.2) is another origin: it stands in for any other host.
    """
    fake = FakeAnthropic()
    fake.server = _Server(fake, host)
    start_serving(fake.server, "fake-anthropic")
    return fake


def stop_fake_anthropic(fake: FakeAnthropic) -> None:
    if fake.hold is not None:
        fake.hold.set()
    if fake.server is not None:
        stop_serving(fake.server)
