"""Live layer: the caller's LiteLLM key, sent the way an attacker would, never reaches the upstream.

Forms (how the key is wrapped) x carriers (which header or query parameter holds it) x routes.
The caller logs in legitimately (``x-litellm-api-key``) unless the carrier is the login header
itself. Whether the proxy forwards the request or rejects it, the verdict is read off everything
the recording upstream received: path, query and every header.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import pytest

from .checks import assert_key_nowhere
from .constants import (
    MASTER_KEY,
    OAUTH_TOKEN,
    P0002_CALLER_LITELLM_KEY,
    P0003_CLIENT_CREDENTIALS,
    SERVER_KEY,
    simple_body,
)
from .live_fixtures import CONFIG_ROUTE, KEY_HEADER_NAME
from .live_proxy import OPERATOR_HEADER, OPERATOR_ROUTE, LiveProxy

LOGIN = ("x-litellm-api-key", f"Bearer {MASTER_KEY}")
SIGV4_TAIL = (
    "/20261130/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=0f1e"
)


@dataclass(frozen=True)
class Form:
    id: str
    wrap: Callable[[str], str]


def _percent_every_byte(key: str) -> str:
    return "".join(f"%{byte:02X}" for byte in key.encode())


def _basic_credentials(key: str) -> str:
    return base64.b64encode(f"litellm:{key}".encode()).decode()


FORMS = [
    Form("bare", lambda k: k),
    Form("bearer", lambda k: f"Bearer {k}"),
    Form("bearer-lower", lambda k: f"bearer {k}"),
    Form("bearer-upper", lambda k: f"BEARER {k}"),
    Form("bearer-mixed", lambda k: f"bEaReR {k}"),
    Form("two-spaces", lambda k: f"Bearer  {k}"),
    Form("tab", lambda k: f"Bearer\t{k}"),
    Form("surrounding-whitespace", lambda k: f"  Bearer {k}  "),
    Form("repeated-scheme", lambda k: f"Bearer Bearer {k}"),
    Form("basic", lambda k: f"Basic {k}"),
    Form("basic-base64", lambda k: f"Basic {_basic_credentials(k)}"),
    Form("sigv4", lambda k: f"AWS4-HMAC-SHA256 Credential={k}{SIGV4_TAIL}"),
    Form("sigv4-bearer", lambda k: f"AWS4-HMAC-SHA256 Credential=Bearer {k}{SIGV4_TAIL}"),
    Form("comma-list", lambda k: f"Bearer {OAUTH_TOKEN}, Bearer {k}"),
    Form("embedded", lambda k: f"abc{k}xyz"),
    Form("cookie-like", lambda k: f"session=abc; token={k}"),
    Form("upper-cased-key", lambda k: f"Bearer {k.upper()}"),
    Form("percent-encoded", lambda k: _percent_every_byte(k)),
]


@dataclass(frozen=True)
class Route:
    id: str
    proxy: str  # a key of live_fixtures.SPECS
    path: str


ANTHROPIC = Route("anthropic", "main", "/anthropic/v1/messages")
ANTHROPIC_NO_SERVER_KEY = Route(
    "anthropic-no-server-key", "no_server_key", "/anthropic/v1/messages"
)
COHERE = Route("cohere", "main", "/cohere/v1/chat")  # forwards only x-pass-* caller headers
CONFIG = Route("config-forward-headers", "main", CONFIG_ROUTE)
ROUTES = [ANTHROPIC, ANTHROPIC_NO_SERVER_KEY, COHERE, CONFIG]


@dataclass(frozen=True)
class Carrier:
    """Where the wrapped key goes; `headers(value)` is the whole header set sent."""

    id: str
    headers: Callable[[str], list[tuple[str, str]]]


CARRIERS = [
    Carrier("x-api-key", lambda v: [LOGIN, ("x-api-key", v)]),
    Carrier("authorization", lambda v: [LOGIN, ("Authorization", v)]),
    Carrier("x-pass-header", lambda v: [LOGIN, ("x-pass-x-custom-token", v)]),
    Carrier("other-header", lambda v: [LOGIN, ("x-trace", v)]),
    Carrier("anthropic-beta", lambda v: [LOGIN, ("anthropic-beta", f"oauth-2025-04-20,{v}")]),
    Carrier("cookie", lambda v: [LOGIN, ("Cookie", f"session={v}")]),
    # the caller logs in with the wrapped key itself
    Carrier("login-authorization", lambda v: [("Authorization", v)]),
    Carrier("login-custom-key-header", lambda v: [(KEY_HEADER_NAME, v)]),
]

QUERY_FORMS = [
    f
    for f in FORMS
    if f.id in {"bare", "bearer", "basic-base64", "embedded", "upper-cased-key", "percent-encoded"}
]

# Query parameters LiteLLM itself reads a key from (Google's `key`) and common names for one.
QUERY_NAMES = ["key", "api_key", "api-key", "x-litellm-api-key", "token", "access_token"]


CREDENTIAL_CARRIERS = {"x-api-key", "authorization"}
# What unpatched LiteLLM (the pin, 1.110.2) gets right by itself, for the negative control. It
# compares a value to the key exactly after stripping one `Bearer `/`bearer `/`Basic `/SigV4
# prefix, and its login accepts the same prefixed forms. The negative control checks this model
# row by row: a row it calls "holds" must pass upstream, every other row must fail there.
UPSTREAM_RECOGNISES = {
    "bare", "bearer", "bearer-lower", "surrounding-whitespace", "repeated-scheme", "basic",
    "sigv4", "sigv4-bearer",
}  # fmt: skip
UPSTREAM_LOGIN_ACCEPTS = UPSTREAM_RECOGNISES - {"bare"}


def upstream_holds(route: Route, carrier: Carrier, form: Form) -> bool:
    recognised = form.id in UPSTREAM_RECOGNISES
    if carrier.id.startswith("login-"):
        # login refuses the other forms; provider routes strip the secret login used
        return route is not CONFIG or form.id not in UPSTREAM_LOGIN_ACCEPTS
    if route is ANTHROPIC_NO_SERVER_KEY:
        # no credential left: upstream answers 401 itself without calling Anthropic; a
        # credential header it does not recognise goes out as the client's own
        return carrier.id not in CREDENTIAL_CARRIERS or recognised
    if route is COHERE:
        return carrier.id != "x-pass-header"  # it forwards only x-pass-* caller headers
    if route is ANTHROPIC:
        # the server key replaces both credential headers; other headers only lose exact keys
        return carrier.id in CREDENTIAL_CARRIERS or (carrier.id == "other-header" and recognised)
    return False  # a config forward_headers route strips nothing by value


def _fixed_unless(holds: bool, patch: str) -> list[pytest.MarkDecorator]:
    return [] if holds else [pytest.mark.fixed_by(patch)]


HEADER_ROWS = [
    pytest.param(
        route,
        carrier,
        form,
        marks=_fixed_unless(upstream_holds(route, carrier, form), P0002_CALLER_LITELLM_KEY),
        id=f"{form.id}-{carrier.id}-{route.id}",
    )
    for form in FORMS
    for carrier in CARRIERS
    for route in ROUTES
]
QUERY_ROWS = [
    pytest.param(
        route,
        name,
        form,
        # without a server key upstream answers 401 itself and calls nobody
        marks=_fixed_unless(route is ANTHROPIC_NO_SERVER_KEY, P0002_CALLER_LITELLM_KEY),
        id=f"{form.id}-{name}-{route.id}",
    )
    for form in QUERY_FORMS
    for name in QUERY_NAMES
    for route in ROUTES
]


def post(proxy: LiveProxy, path: str, headers: list[tuple[str, str]]) -> int:
    """Send the request byte for byte, as an attacker's client would (HTTP libraries refuse or
    tidy values with surrounding whitespace); returns the proxy's status code."""
    body = json.dumps(simple_body()).encode()
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{proxy.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers),
    ]
    request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
    response = b""
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=15.0) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            response += chunk
    status_line = response.split(b"\r\n", 1)[0].split()
    assert len(status_line) >= 2, f"no HTTP response from the proxy: {response[:200]!r}"
    return int(status_line[1])


def fresh(live_proxies: dict[str, LiveProxy], route: Route) -> LiveProxy:
    proxy = live_proxies[route.proxy]
    proxy.upstream.reset()
    return proxy


@pytest.mark.parametrize(("route", "carrier", "form"), HEADER_ROWS)
def test_key_in_a_header_never_reaches_the_upstream(
    live_proxies: dict[str, LiveProxy], route: Route, carrier: Carrier, form: Form
) -> None:
    proxy = fresh(live_proxies, route)
    post(proxy, route.path, carrier.headers(form.wrap(MASTER_KEY)))
    assert_key_nowhere(proxy.upstream.requests, MASTER_KEY)


@pytest.mark.parametrize(("route", "name", "form"), QUERY_ROWS)
def test_key_in_the_query_never_reaches_the_upstream(
    live_proxies: dict[str, LiveProxy], route: Route, name: str, form: Form
) -> None:
    proxy = fresh(live_proxies, route)
    query = f"beta=true&{quote(name)}={quote(form.wrap(MASTER_KEY), safe='')}"
    post(proxy, f"{route.path}?{query}", [LOGIN])
    assert_key_nowhere(proxy.upstream.requests, MASTER_KEY)
    for request in proxy.upstream.requests:  # the rest of the query still arrives
        assert ("beta", "true") in request.query


@pytest.mark.parametrize(
    "route",
    [
        pytest.param(ANTHROPIC, id=ANTHROPIC.id),  # upstream: the server key replaces both
        pytest.param(
            ANTHROPIC_NO_SERVER_KEY,
            marks=pytest.mark.fixed_by(P0003_CLIENT_CREDENTIALS),
            id=ANTHROPIC_NO_SERVER_KEY.id,
        ),
    ],
)
@pytest.mark.parametrize("header", ["x-api-key", "Authorization"])
@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.id)
def test_a_wrapped_litellm_key_is_never_taken_for_a_client_credential(
    live_proxies: dict[str, LiveProxy], route: Route, header: str, form: Form
) -> None:
    """On /anthropic the key in a credential header is not the caller's own Anthropic credential:
    the server key takes its place (or, without one, no credential goes and Anthropic answers)."""
    proxy = fresh(live_proxies, route)
    post(proxy, route.path, [LOGIN, (header, form.wrap(MASTER_KEY))])
    upstream = proxy.upstream.only_request()
    expected = [SERVER_KEY] if route is ANTHROPIC else []
    assert upstream.header_values("x-api-key") == expected
    assert upstream.header_values("authorization") == []


@pytest.mark.fixed_by(P0002_CALLER_LITELLM_KEY)
@pytest.mark.parametrize("route", [ANTHROPIC, ANTHROPIC_NO_SERVER_KEY], ids=lambda r: r.id)
def test_the_oauth_caller_s_own_token_survives_a_smuggled_key(
    live_proxies: dict[str, LiveProxy], route: Route
) -> None:
    """The issue's case 1: OAuth in Authorization, the key as `x-api-key: BEARER <key>`."""
    proxy = fresh(live_proxies, route)
    headers = [
        LOGIN,
        ("Authorization", f"Bearer {OAUTH_TOKEN}"),
        ("x-api-key", f"BEARER {MASTER_KEY}"),
    ]
    status = post(proxy, route.path, headers)
    upstream = proxy.upstream.only_request()
    assert upstream.header_values("authorization") == [f"Bearer {OAUTH_TOKEN}"]
    assert upstream.header_values("x-api-key") == []
    assert_key_nowhere([upstream], MASTER_KEY)
    assert status == 200


def test_headers_the_operator_configured_are_never_stripped(proxy_main: LiveProxy) -> None:
    """The operator's route header carries the master key on purpose: it goes upstream."""
    post(proxy_main, OPERATOR_ROUTE, [LOGIN, ("x-app", "cli")])
    upstream = proxy_main.upstream.only_request()
    assert upstream.header_values(OPERATOR_HEADER) == [MASTER_KEY]
    assert upstream.header("x-app") == "cli"  # forward_headers really is on


@pytest.mark.fixed_by(P0002_CALLER_LITELLM_KEY)
def test_beside_operator_headers_the_caller_s_key_is_still_dropped(proxy_main: LiveProxy) -> None:
    post(proxy_main, OPERATOR_ROUTE, [LOGIN, ("x-trace", f"abc{MASTER_KEY}")])
    upstream = proxy_main.upstream.only_request()
    assert upstream.header_values(OPERATOR_HEADER) == [MASTER_KEY]
    assert not upstream.has_header("x-trace")
