"""The proxy's FastAPI app in-process: ASGI transport in front, respx-mocked Anthropic behind."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
import respx

from .checks import from_httpx
from .fake_upstream import AUTH_ERROR, CREDENTIAL_HEADERS, MESSAGE, RecordedRequest
from .proxy_forkserver import import_frozen
from .scheduling import IN_PROCESS, scope_of

# Loopback discard port: if a request ever escaped the mock it would fail locally, fast.
UPSTREAM_BASE = "http://127.0.0.1:9"


@dataclass
class InProcessProxy:
    client: httpx.AsyncClient
    route: respx.Route

    def upstream_requests(self) -> list[RecordedRequest]:
        return [from_httpx(call.request) for call in self.route.calls]

    def only_upstream_request(self) -> RecordedRequest:
        requests = self.upstream_requests()
        assert len(requests) == 1, f"expected 1 upstream request, got {len(requests)}"
        return requests[0]


def _fake_anthropic(request: httpx.Request) -> httpx.Response:
    if not any(name in request.headers for name in CREDENTIAL_HEADERS):
        return httpx.Response(401, json=AUTH_ERROR)
    return httpx.Response(200, json=MESSAGE)


def _flush_llm_client_cache() -> None:
    import litellm

    cache = getattr(litellm, "in_memory_llm_clients_cache", None)
    if cache is not None:
        cache.flush_cache()


@pytest.fixture(scope="module", autouse=True)
def _litellm_imported_frozen(request: pytest.FixtureRequest) -> None:
    """An in-process module's process imports LiteLLM's proxy as the fork server does: with the
    cyclic GC off, then frozen (proxy_forkserver.import_frozen: a sixth less CPU for the import,
    and no later collection walks its million objects). Once; other modules don't import it."""
    if scope_of(request.node.nodeid) == IN_PROCESS:
        _import_proxy_frozen()


@functools.cache
def _import_proxy_frozen() -> int:
    return import_frozen(("litellm.proxy.proxy_server",), [])


ProxyFactory = Callable[..., AbstractAsyncContextManager[InProcessProxy]]


@pytest.fixture
def inprocess_proxy(monkeypatch: pytest.MonkeyPatch) -> ProxyFactory:
    """``async with inprocess_proxy(master_key=..., server_key=...) as proxy:``.

    Global state (master key, env, transport flag, client cache) is restored afterwards.
    """
    import litellm
    from litellm.proxy import proxy_server

    @asynccontextmanager
    async def factory(
        master_key: str | None, server_key: str | None
    ) -> AsyncIterator[InProcessProxy]:
        monkeypatch.setattr(proxy_server, "master_key", master_key)
        monkeypatch.setattr(litellm, "disable_aiohttp_transport", True)  # respx mocks httpx only
        monkeypatch.setenv("ANTHROPIC_API_BASE", UPSTREAM_BASE)
        if server_key:
            monkeypatch.setenv("ANTHROPIC_API_KEY", server_key)
        else:
            monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        _flush_llm_client_cache()
        transport = httpx.ASGITransport(app=proxy_server.app)
        try:
            with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
                route = mock.route(url__startswith=UPSTREAM_BASE).mock(side_effect=_fake_anthropic)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://proxy.test", timeout=10.0
                ) as client:
                    yield InProcessProxy(client=client, route=route)
        finally:
            _flush_llm_client_cache()

    return factory
