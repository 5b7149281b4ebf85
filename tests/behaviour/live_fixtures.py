"""Session-wide live proxies (one per configuration, booted with every other set), their fakes."""

from __future__ import annotations

import pytest

from .constants import MASTER_KEY, SERVER_KEY
from .launcher import Boot, ProxySet, _launched_proxies  # noqa: F401 (conftests import it here)
from .live_proxy import LiveProxy, ProxySpec

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


def _boot(boot: Boot) -> dict[str, LiveProxy]:
    """Each configuration with its own recording fake Anthropic."""
    return {name: boot.proxy(spec, boot.fake()) for name, spec in SPECS.items()}


LIVE_PROXIES = ProxySet("live_proxies", _boot)
live_proxies = LIVE_PROXIES.fixture()  # every proxy above, live (bounded wait, log tail on failure)


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
