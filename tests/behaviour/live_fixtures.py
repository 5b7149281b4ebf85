"""Session-wide live proxies (one per configuration, booted concurrently) and their fakes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from .constants import MASTER_KEY, SERVER_KEY
from .fake_upstream import start_fake_anthropic, stop_fake_anthropic
from .live_proxy import LiveProxy, ProxySpec, start_proxy, stop_proxies, wait_until_ready

CONFIG_ROUTE = "/custom-upstream"
# general_settings.litellm_key_header_name on the main proxy: callers may log in with it too
KEY_HEADER_NAME = "x-proxy-key"

SPECS = {
    # master key + server Anthropic key, plus a config pass-through route
    "main": ProxySpec(
        "main", MASTER_KEY, SERVER_KEY, config_route=CONFIG_ROUTE, key_header_name=KEY_HEADER_NAME
    ),
    # master key, no server Anthropic key
    "no_server_key": ProxySpec("no_server_key", MASTER_KEY, None),
    # no master key: nothing authenticates the caller
    "open": ProxySpec("open", None, SERVER_KEY),
    "open_no_server_key": ProxySpec("open_no_server_key", None, None),
}


@pytest.fixture(scope="session", autouse=True)
def _launched_proxies(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, LiveProxy] | None]:
    """Launch every proxy when the session starts, so they boot while the other layers run.

    Only if a selected test needs them; all are stopped at the end of the session.
    """
    if not any("live_proxies" in item.fixturenames for item in request.session.items):
        yield None
        return
    root = tmp_path_factory.mktemp("live")
    with ExitStack() as stack:
        proxies: dict[str, LiveProxy] = {}
        stack.callback(lambda: stop_proxies(list(proxies.values())))
        for name, spec in SPECS.items():
            upstream = start_fake_anthropic()
            stack.callback(stop_fake_anthropic, upstream)
            proxies[name] = start_proxy(spec, upstream, root / name)
        yield proxies


@pytest.fixture(scope="session")
def live_proxies(_launched_proxies: dict[str, LiveProxy] | None) -> dict[str, LiveProxy]:
    """All proxies, live (bounded wait; fails with the proxy's log tail)."""
    assert _launched_proxies is not None, "live proxies were not launched for this session"
    wait_until_ready(list(_launched_proxies.values()))
    return _launched_proxies


def _fresh(proxy: LiveProxy) -> LiveProxy:
    proxy.upstream.reset()
    return proxy


@pytest.fixture
def proxy_main(live_proxies: dict[str, LiveProxy]) -> LiveProxy:
    return _fresh(live_proxies["main"])


@pytest.fixture
def proxy_no_server_key(live_proxies: dict[str, LiveProxy]) -> LiveProxy:
    return _fresh(live_proxies["no_server_key"])


@pytest.fixture
def proxy_open(live_proxies: dict[str, LiveProxy]) -> LiveProxy:
    return _fresh(live_proxies["open"])


@pytest.fixture
def proxy_open_no_server_key(live_proxies: dict[str, LiveProxy]) -> LiveProxy:
    return _fresh(live_proxies["open_no_server_key"])
