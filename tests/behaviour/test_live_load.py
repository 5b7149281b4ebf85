"""Live layer under load: 200 concurrent Claude Code streams, each with its own OAuth token.

All 200 are sent at once and the fake upstream holds each stream after its first event until no
more requests arrive, so the proxy has them all in hand together (as many upstream as its
connection pool allows, the rest waiting for a slot). Every stream must complete, and every
recorded upstream request must carry exactly the token of the caller whose marker is in its
body: no server key beside it, no other caller's token.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from typing import Any

import pytest

from . import fake_upstream
from .constants import (
    ALL_EVENTS,
    CLAUDE_CODE_QUERY,
    MASTER_KEY,
    MESSAGES_PATH,
    P0003_CLIENT_CREDENTIALS,
    claude_code_body,
    claude_code_headers,
)
from .fake_upstream import RecordedRequest
from .live_proxy import LiveProxy, loopback_async_client

CONCURRENT = 200
# The fake holds each stream after its first event until all requests arrived, or none arrived
# for STALL_S after the first: LiteLLM's upstream pool may cap connections per host (aiohttp
# limit_per_host, AIOHTTP_CONNECTOR_LIMIT_PER_HOST: 50 by default in 1.81, 500 in 1.106) and
# the rest then wait in the proxy for a slot. At least this many must be upstream at once.
UPSTREAM_POOL = 50
STALL_S = 3.0
ARRIVALS_S = 25.0
DEADLINE_S = 60.0  # every response read to the end, from the first request
MARKER = re.compile(r"<load-marker-(\d+)>")


def token(n: int) -> str:
    return f"sk-ant-oat01-test-{n}"


def body(n: int) -> dict[str, Any]:
    payload = claude_code_body(stream=True)
    payload["messages"] = [{"role": "user", "content": f"hi claude <load-marker-{n}>"}]
    return payload


async def stream_one(proxy: LiveProxy, n: int) -> tuple[int, list[str]]:
    """One caller's stream, on a connection of its own (as 200 Claude Code processes would:
    one shared client's pool would also cost the test O(n) work per request to find a slot)."""
    headers = [
        *claude_code_headers(f"Bearer {token(n)}"),
        ("x-litellm-api-key", f"Bearer {MASTER_KEY}"),
    ]
    url = f"{MESSAGES_PATH}?{CLAUDE_CODE_QUERY}"
    async with (
        loopback_async_client(proxy.url, timeout=DEADLINE_S) as client,
        client.stream("POST", url, headers=headers, json=body(n)) as response,
    ):
        events = [
            line.removeprefix("event:").strip()
            async for line in response.aiter_lines()
            if line.startswith("event:")
        ]
        return response.status_code, events


async def hold_until_arrivals_stop(proxy: LiveProxy, hold: threading.Event) -> int:
    """Release the held streams once all requests arrived or arrivals stalled; how many had."""
    deadline = time.monotonic() + ARRIVALS_S
    seen, last_change = 0, time.monotonic()
    while seen < CONCURRENT and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if len(proxy.upstream.requests) != seen:
            seen, last_change = len(proxy.upstream.requests), time.monotonic()
        elif seen and time.monotonic() - last_change > STALL_S:
            break
    hold.set()
    return seen


def credential_problems(request: RecordedRequest) -> list[str]:
    """Why this upstream request does not carry exactly its own caller's token (empty: it does)."""
    found = MARKER.findall(request.body.decode(errors="replace"))
    if len(found) != 1:
        return [f"body carries markers {found!r}"]
    n = int(found[0])
    problems = []
    if request.header_values("authorization") != [f"Bearer {token(n)}"]:
        problems.append(f"#{n}: authorization {request.header_values('authorization')!r}")
    if request.header_values("x-api-key"):
        problems.append(f"#{n}: x-api-key {request.header_values('x-api-key')!r}")
    others = [v for _, v in request.headers if "sk-ant-oat01-test-" in v]
    if others != [f"Bearer {token(n)}"]:
        problems.append(f"#{n}: OAuth tokens in its headers {others!r}")
    return problems


@pytest.mark.timeout(120)
@pytest.mark.fixed_by(P0003_CLIENT_CREDENTIALS)
async def test_200_concurrent_streams_each_reach_upstream_with_only_their_own_token(
    proxy_main: LiveProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    hold = threading.Event()
    monkeypatch.setattr(fake_upstream, "HOLD_TIMEOUT_S", DEADLINE_S)
    proxy_main.upstream.hold = hold
    try:
        calls = asyncio.gather(*(stream_one(proxy_main, n) for n in range(CONCURRENT)))
        task = asyncio.ensure_future(asyncio.wait_for(calls, DEADLINE_S))
        in_flight = await hold_until_arrivals_stop(proxy_main, hold)
        results = await task
    finally:
        hold.set()
    failed = {n: r for n, r in enumerate(results) if r != (200, ALL_EVENTS)}
    assert not failed, f"{len(failed)} of {CONCURRENT} streams incomplete, e.g. {failed!r:.400}"
    assert in_flight >= min(CONCURRENT, UPSTREAM_POOL), f"only {in_flight} upstream at once"
    recorded = list(proxy_main.upstream.requests)
    markers = sorted(int(m) for r in recorded for m in MARKER.findall(r.body.decode()))
    assert markers == list(range(CONCURRENT)), "upstream did not get each request exactly once"
    problems = [p for request in recorded for p in credential_problems(request)]
    assert not problems, f"{len(problems)} credential problems, e.g. {problems[:5]!r}"
