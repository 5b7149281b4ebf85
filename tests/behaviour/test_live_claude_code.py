"""Live layer: Claude Code's exact OAuth request, replayed with raw httpx through the proxy."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from .checks import betas
from .constants import (
    ALL_EVENTS,
    CLAUDE_CODE_QUERY,
    MASTER_KEY,
    MESSAGES_PATH,
    OAUTH_BETA,
    OTHER_BETA,
    P0003_CLIENT_CREDENTIALS,
    UPSTREAM_KEEPS_CLIENT_AUTHORIZATION,
    claude_code_body,
    claude_code_headers,
)
from .fake_upstream import HOLD_TIMEOUT_S, RecordedRequest
from .live_proxy import LiveProxy, loopback_client

# Shorter than the fake's hold: a buffering proxy makes the first read time out.
FIRST_EVENT_TIMEOUT_S = HOLD_TIMEOUT_S / 2
# Negotiated per hop: the proxy opens its own connection upstream, and since 1.106 it also picks
# its own accept-encoding (it reads the body to log it). Neither is on the reference's list of
# what must survive the hop; every other Claude Code header is.
HOP_BY_HOP = {"connection", "accept-encoding"}


def caller_headers() -> list[tuple[str, str]]:
    return [*claude_code_headers(), ("x-litellm-api-key", f"Bearer {MASTER_KEY}")]


def replay(proxy: LiveProxy) -> tuple[httpx.Response, RecordedRequest]:
    with loopback_client(proxy.url, 15.0) as client:
        response = client.post(
            f"{MESSAGES_PATH}?{CLAUDE_CODE_QUERY}",
            headers=caller_headers(),
            json=claude_code_body(),
        )
    return response, proxy.upstream.only_request()


def sse_events(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if line.startswith("event:"):
            yield line.removeprefix("event:").strip()


@pytest.mark.fixed_by(P0003_CLIENT_CREDENTIALS, upstream_ok=UPSTREAM_KEEPS_CLIENT_AUTHORIZATION)
def test_claude_code_headers_path_and_query_arrive(proxy_main: LiveProxy) -> None:
    response, upstream = replay(proxy_main)
    assert response.status_code == 200, response.text
    assert (upstream.method, upstream.path, upstream.raw_query) == (
        "POST",
        "/v1/messages",
        "beta=true",
    )
    for name, value in claude_code_headers():
        if name.lower() not in HOP_BY_HOP:
            assert upstream.header_values(name) == [value], f"header {name!r} changed or lost"


def test_claude_code_betas_arrive_with_the_oauth_beta(proxy_main: LiveProxy) -> None:
    _, upstream = replay(proxy_main)
    received = betas(upstream)
    assert OAUTH_BETA in received and OTHER_BETA in received, received


def test_claude_code_body_arrives_with_metadata_user_id(proxy_main: LiveProxy) -> None:
    _, upstream = replay(proxy_main)
    assert upstream.json() == claude_code_body()


def test_claude_code_stream_is_relayed_unbuffered(proxy_main: LiveProxy) -> None:
    """Upstream sends event 1 then waits; the caller must see event 1 before upstream goes on."""
    hold = threading.Event()
    proxy_main.upstream.hold = hold
    timeout = httpx.Timeout(15.0, read=FIRST_EVENT_TIMEOUT_S)
    try:
        with (
            loopback_client(proxy_main.url, timeout) as client,
            client.stream(
                "POST",
                f"{MESSAGES_PATH}?{CLAUDE_CODE_QUERY}",
                headers=caller_headers(),
                json=claude_code_body(),
            ) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = sse_events(response.iter_lines())
            assert next(events) == "message_start"  # ReadTimeout here = the proxy buffered
            hold.set()
            assert ["message_start", *events] == ALL_EVENTS
    finally:
        hold.set()
