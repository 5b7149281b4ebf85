"""Live layer: the credential acceptance matrix through a real proxy process.

Each row is one real request; the verdict is read off what the fake Anthropic recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from .checks import assert_credentials, assert_no_none_string, assert_secret_nowhere
from .constants import (
    CLAUDE_CODE_QUERY,
    CLIENT_KEY,
    MASTER_KEY,
    MESSAGES_PATH,
    OAUTH_TOKEN,
    P0001_X_LITELLM_API_KEY,
    P0002_CALLER_LITELLM_KEY,
    P0003_CLIENT_CREDENTIALS,
    SERVER_KEY,
    UPSTREAM_LETS_ANTHROPIC_ANSWER_401,
    UPSTREAM_OMITS_MISSING_SERVER_KEY,
    UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC,
    claude_code_body,
    claude_code_headers,
    simple_body,
    with_casing,
)
from .fake_upstream import AUTH_ERROR
from .live_fixtures import CONFIG_ROUTE
from .live_proxy import LiveProxy, loopback_client

LITELLM_KEY = ("x-litellm-api-key", f"Bearer {MASTER_KEY}")
OAUTH = ("Authorization", f"Bearer {OAUTH_TOKEN}")
CASINGS = ["as-sent", "mixed"]


@dataclass(frozen=True)
class Row:
    id: str
    proxy: str  # a key of live_fixtures.SPECS
    headers: tuple[tuple[str, str], ...]
    x_api_key: str | None  # what the upstream must receive (None: no such header)
    authorization: str | None
    credential_fix: str | None  # patch that makes the credential check pass (None: holds upstream)
    secret_fix: str | None = None  # patch that keeps the LiteLLM key out (None: holds / no key)
    credential_upstream_ok: tuple[str | None, str | None] | None = None  # see constants
    secret_upstream_ok: tuple[str | None, str | None] | None = None
    status: int = 200
    body: Callable[[], dict[str, Any]] = field(default=simple_body)


ROWS = [
    Row(
        id="claude-code-oauth",
        proxy="main",
        headers=(*claude_code_headers(), LITELLM_KEY),
        x_api_key=None,
        authorization=f"Bearer {OAUTH_TOKEN}",
        credential_fix=P0003_CLIENT_CREDENTIALS,
        secret_fix=P0001_X_LITELLM_API_KEY,
        body=claude_code_body,
        secret_upstream_ok=UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC,
    ),
    Row(
        id="claude-code-oauth-no-server-key",
        proxy="no_server_key",
        headers=(*claude_code_headers(), LITELLM_KEY),
        x_api_key=None,
        authorization=f"Bearer {OAUTH_TOKEN}",
        credential_fix=P0003_CLIENT_CREDENTIALS,
        credential_upstream_ok=UPSTREAM_OMITS_MISSING_SERVER_KEY,
        secret_fix=P0001_X_LITELLM_API_KEY,
        secret_upstream_ok=UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC,
    ),
    Row(
        id="client-x-api-key",
        proxy="main",
        headers=(("x-api-key", CLIENT_KEY), LITELLM_KEY),
        x_api_key=CLIENT_KEY,
        authorization=None,
        credential_fix=P0003_CLIENT_CREDENTIALS,
        secret_fix=P0001_X_LITELLM_API_KEY,
        secret_upstream_ok=UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC,
    ),
    Row(
        id="client-x-api-key-and-oauth",
        proxy="main",
        headers=(("x-api-key", CLIENT_KEY), OAUTH, LITELLM_KEY),
        x_api_key=CLIENT_KEY,
        authorization=f"Bearer {OAUTH_TOKEN}",
        credential_fix=P0003_CLIENT_CREDENTIALS,
        secret_fix=P0001_X_LITELLM_API_KEY,
        secret_upstream_ok=UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC,
    ),
    Row(
        id="litellm-key-as-bearer",
        proxy="main",
        headers=(("Authorization", f"Bearer {MASTER_KEY}"),),
        x_api_key=SERVER_KEY,
        authorization=None,
        credential_fix=P0002_CALLER_LITELLM_KEY,
        secret_fix=P0002_CALLER_LITELLM_KEY,
        secret_upstream_ok=UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC,
        credential_upstream_ok=UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC,
    ),
    Row(  # holds upstream too: the server key overwrites x-api-key there
        id="litellm-key-as-x-api-key",
        proxy="main",
        headers=(("x-api-key", MASTER_KEY),),
        x_api_key=SERVER_KEY,
        authorization=None,
        credential_fix=None,
    ),
    Row(
        id="litellm-key-only-no-server-key",
        proxy="no_server_key",
        headers=(LITELLM_KEY,),
        x_api_key=None,
        authorization=None,
        credential_fix=P0003_CLIENT_CREDENTIALS,
        credential_upstream_ok=UPSTREAM_LETS_ANTHROPIC_ANSWER_401,
        secret_fix=P0001_X_LITELLM_API_KEY,
        status=401,
    ),
    Row(
        id="oauth-no-master-key",
        proxy="open",
        headers=(OAUTH,),
        x_api_key=None,
        authorization=f"Bearer {OAUTH_TOKEN}",
        credential_fix=P0003_CLIENT_CREDENTIALS,
    ),
    Row(
        id="oauth-no-master-key-no-server-key",
        proxy="open_no_server_key",
        headers=(OAUTH,),
        x_api_key=None,
        authorization=f"Bearer {OAUTH_TOKEN}",
        credential_fix=P0003_CLIENT_CREDENTIALS,
        credential_upstream_ok=UPSTREAM_OMITS_MISSING_SERVER_KEY,
    ),
    Row(
        id="client-x-api-key-no-master-key",
        proxy="open",
        headers=(("x-api-key", CLIENT_KEY),),
        x_api_key=CLIENT_KEY,
        authorization=None,
        credential_fix=P0003_CLIENT_CREDENTIALS,
    ),
]


def _params(
    fix: Callable[[Row], str | None],
    rows: list[Row],
    upstream_ok: Callable[[Row], tuple[str | None, str | None] | None] = lambda row: None,
) -> list[Any]:
    def marks(row: Row) -> list[pytest.MarkDecorator]:
        patch = fix(row)
        return [pytest.mark.fixed_by(patch, upstream_ok=upstream_ok(row))] if patch else []

    return [pytest.param(row, marks=marks(row), id=row.id) for row in rows]


def _carries_litellm_key(row: Row) -> bool:
    return any(MASTER_KEY in value for _, value in row.headers)


def send(proxy: LiveProxy, row: Row, casing: str) -> httpx.Response:
    with loopback_client(proxy.url, 15.0) as client:
        return client.post(
            f"{MESSAGES_PATH}?{CLAUDE_CODE_QUERY}",
            headers=with_casing(list(row.headers), casing),
            json=row.body(),
        )


def proxy_for(live_proxies: dict[str, LiveProxy], row: Row) -> LiveProxy:
    """The row's shared proxy, with a clean upstream record."""
    proxy = live_proxies[row.proxy]
    proxy.upstream.reset()
    return proxy


@pytest.mark.parametrize("casing", CASINGS)
@pytest.mark.parametrize(
    "row",
    _params(lambda row: row.credential_fix, ROWS, lambda row: row.credential_upstream_ok),
)
def test_upstream_receives_the_right_credential(
    live_proxies: dict[str, LiveProxy], row: Row, casing: str
) -> None:
    proxy = proxy_for(live_proxies, row)
    response = send(proxy, row, casing)
    upstream = proxy.upstream.only_request()
    assert_no_none_string(upstream)
    assert_credentials(upstream, row.x_api_key, row.authorization)
    assert response.status_code == row.status, response.text
    if row.status == 401:  # Anthropic's answer reaches the caller
        assert AUTH_ERROR["error"]["message"] in response.text


@pytest.mark.parametrize("casing", CASINGS)
@pytest.mark.parametrize(
    "row",
    _params(
        lambda row: row.secret_fix,
        [r for r in ROWS if _carries_litellm_key(r)],
        lambda row: row.secret_upstream_ok,
    ),
)
def test_litellm_key_reaches_anthropic_nowhere(
    live_proxies: dict[str, LiveProxy], row: Row, casing: str
) -> None:
    proxy = proxy_for(live_proxies, row)
    send(proxy, row, casing)
    assert_secret_nowhere(proxy.upstream.requests, MASTER_KEY)


@pytest.mark.parametrize("casing", CASINGS)
def test_oauth_caller_without_litellm_key_is_rejected(proxy_main: LiveProxy, casing: str) -> None:
    row = Row("oauth-only", "main", tuple(claude_code_headers()), None, None, None)
    response = send(proxy_main, row, casing)  # no x-litellm-api-key: nothing LiteLLM accepts
    assert 400 <= response.status_code < 500, response.text
    assert proxy_main.upstream.requests == []


@pytest.mark.fixed_by(P0001_X_LITELLM_API_KEY)
@pytest.mark.parametrize("casing", CASINGS)
def test_config_pass_through_route_strips_x_litellm_api_key(
    proxy_main: LiveProxy, casing: str
) -> None:
    headers = with_casing([LITELLM_KEY, ("x-api-key", CLIENT_KEY), ("x-app", "cli")], casing)
    with loopback_client(proxy_main.url, 15.0) as client:
        response = client.post(CONFIG_ROUTE, headers=headers, json=simple_body())
    upstream = proxy_main.upstream.only_request()
    assert upstream.path == CONFIG_ROUTE
    assert upstream.header("x-app") == "cli"  # forward_headers really is on
    assert not upstream.has_header("x-litellm-api-key")
    assert_secret_nowhere([upstream], MASTER_KEY)
    assert response.status_code == 200, response.text


@pytest.mark.fixed_by(P0002_CALLER_LITELLM_KEY)
@pytest.mark.parametrize("casing", CASINGS)
def test_config_pass_through_route_never_forwards_the_litellm_key_as_authorization(
    proxy_main: LiveProxy, casing: str
) -> None:
    """Upstream strips the caller's secret only on its provider routes, not on config routes."""
    headers = with_casing([("Authorization", f"Bearer {MASTER_KEY}"), ("x-app", "cli")], casing)
    with loopback_client(proxy_main.url, 15.0) as client:
        client.post(CONFIG_ROUTE, headers=headers, json=simple_body())
    upstream = proxy_main.upstream.only_request()
    assert upstream.header("x-app") == "cli"  # forward_headers really is on
    assert_secret_nowhere([upstream], MASTER_KEY)


@pytest.mark.fixed_by(P0003_CLIENT_CREDENTIALS)
@pytest.mark.parametrize("stream", [False, True], ids=["non-streaming", "streaming"])
def test_anthropic_401_reaches_the_caller_unchanged(
    proxy_no_server_key: LiveProxy, stream: bool
) -> None:
    """No credential anywhere: the request goes out bare and Anthropic's own 401 comes back."""
    proxy = proxy_no_server_key
    proxy.upstream.reset()
    with loopback_client(proxy.url, 15.0) as client:
        response = client.post(
            MESSAGES_PATH, headers=[LITELLM_KEY], json={**simple_body(), "stream": stream}
        )
    assert_credentials(proxy.upstream.only_request(), None, None)
    assert response.status_code == 401
    assert response.json() == AUTH_ERROR


def test_config_route_keeps_the_caller_s_metadata_to_litellm(proxy_main: LiveProxy) -> None:
    """A config route may point anywhere: metadata.user_id goes only to Anthropic-bound
    Messages URLs (/anthropic; see test_live_claude_code for that side)."""
    with loopback_client(proxy_main.url, 15.0) as client:
        client.post(CONFIG_ROUTE, headers=[LITELLM_KEY], json=claude_code_body(stream=False))
    upstream = proxy_main.upstream.only_request()
    assert "metadata" not in upstream.json()
    assert upstream.json()["messages"] == claude_code_body()["messages"]  # the body did arrive
