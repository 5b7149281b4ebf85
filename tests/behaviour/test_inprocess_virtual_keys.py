"""In-process layer: a virtual key, in non-canonical forms, never reaches Anthropic.

There is no database here. The proxy authenticates a virtual key by its hash through its key
cache before it would ask the database, so the test puts the key's record in that cache (as a
successful database read leaves it) and gives the proxy a stand-in database client that fails
any query. The virtual key then logs in through LiteLLM's own path, `user_api_key_auth`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .checks import assert_key_nowhere
from .constants import MASTER_KEY, MESSAGES_PATH, P0002_CALLER_LITELLM_KEY, SERVER_KEY, simple_body
from .inprocess_fixtures import ProxyFactory

VIRTUAL_KEY = "sk-litellm-test-virtual-9b1e7d3c5a"


class _NoDatabase:
    """Truthy, so the proxy believes a database is connected; any query fails loudly."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no database in this test (asked for {name!r})")


@pytest.fixture
def virtual_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from litellm.proxy import proxy_server
    from litellm.proxy._types import UserAPIKeyAuth, hash_token

    monkeypatch.setattr(proxy_server, "prisma_client", _NoDatabase())
    hashed = hash_token(VIRTUAL_KEY)
    record = UserAPIKeyAuth(token=hashed, api_key=hashed, key_alias="test-virtual-key")
    proxy_server.user_api_key_cache.set_cache(key=hashed, value=record)
    yield VIRTUAL_KEY
    proxy_server.user_api_key_cache.delete_cache(key=hashed)


LOGINS = {
    "x-litellm-api-key": lambda key: [("x-litellm-api-key", f"Bearer {key}")],
    "authorization": lambda key: [("Authorization", f"Bearer {key}")],
    "x-api-key": lambda key: [("x-api-key", key)],
}
# Upstream already keeps these back on /anthropic: it strips the login header it authenticated
# and replaces x-api-key with the server key.
HOLDS_UPSTREAM = {"none", "x-api-key-upper-scheme"}
SMUGGLED = {
    "none": lambda key: [],
    "x-api-key-upper-scheme": lambda key: [("x-api-key", f"BEARER {key}")],
    "x-pass-tab": lambda key: [("x-pass-x-custom-token", f"Bearer\t{key}")],
    "beta-list": lambda key: [("anthropic-beta", f"oauth-2025-04-20,{key}")],
    "upper-cased": lambda key: [("x-trace", key.upper())],
}


@pytest.mark.parametrize(
    "smuggled",
    [
        pytest.param(
            name,
            marks=[]
            if name in HOLDS_UPSTREAM
            else [pytest.mark.fixed_by(P0002_CALLER_LITELLM_KEY)],
            id=name,
        )
        for name in SMUGGLED
    ],
)
@pytest.mark.parametrize("login", LOGINS)
async def test_virtual_key_never_reaches_anthropic(
    inprocess_proxy: ProxyFactory, virtual_key: str, login: str, smuggled: str
) -> None:
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        headers = LOGINS[login](virtual_key) + SMUGGLED[smuggled](virtual_key)
        response = await proxy.client.post(MESSAGES_PATH, headers=headers, json=simple_body())
        assert response.status_code == 200, response.text  # the virtual key really logged in
        upstream = proxy.only_upstream_request()
        assert_key_nowhere([upstream], virtual_key)
        assert upstream.header_values("x-api-key") == [SERVER_KEY]
