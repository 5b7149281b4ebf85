"""Live layer: where each credential may go (see egress.py for the proxies and upstreams).

An attacker who controls an upstream, or a DNS name or a deployment's `api_base`, tries to make
the proxy carry a credential to another host: a redirect to another origin, a deployment that is
not Anthropic, a fallback to another provider. The verdict is read off what every recording
upstream received.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from .checks import assert_credentials, assert_key_nowhere, betas
from .constants import (
    CLIENT_KEY,
    OAUTH_BETA,
    OAUTH_TOKEN,
    P0003_CLIENT_CREDENTIALS,
    P_EGRESS,
    P_OAUTH_SCOPE,
    P_OPEN_PROXY,
    SERVER_KEY,
    claude_code_headers,
)
from .egress import (
    BEDROCK,
    CLAUDE,
    CLAUDE_FALLS_BACK,
    CLAUDE_RETRIED,
    CLAUDE_SERVER_KEY,
    CLAUDE_THIRD_PARTY,
    CLAUDE_THIRD_PARTY_NO_KEY,
    CONFIG_ROUTE,
    DEPLOYMENT_KEY,
    GPT,
    LOGIN,
    OPENAI_KEY,
    OPERATOR_KEY,
    SECRETS,
    THIRD_PARTY_KEY,
    Egress,
    chat_body,
    messages_body,
    post,
)
from .fake_upstream import FakeAnthropic
from .live_proxy import loopback_client

# Every 3xx status: the five that carry a request on (httpx follows them) and the others.
FOLLOWABLE = (301, 302, 303, 307, 308)
REDIRECT_STATUSES = (300, 301, 302, 303, 304, 305, 306, 307, 308)
OAUTH = ("authorization", f"Bearer {OAUTH_TOKEN}")
OWN_KEY = ("x-api-key", CLIENT_KEY)


@dataclass(frozen=True)
class Hop:
    """One request whose first upstream answers with a redirect."""

    id: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: Callable[[], dict[str, object]]
    redirector: Callable[[Egress], FakeAnthropic]
    passes_through: bool  # a pass-through route: the caller gets the 3xx itself
    sent: str  # the credential the first upstream must have received
    # the earlier patch without which upstream never sends `sent` at all (so every status fails)
    sent_since: str | None = None

    def send(self, egress: Egress) -> httpx.Response:
        return post(egress.guarded, self.path, self.headers, self.body())


def _on_anthropic(egress: Egress) -> FakeAnthropic:
    return egress.anthropic


def _on_openai(egress: Egress) -> FakeAnthropic:
    return egress.openai


def _messages(model: str) -> Callable[[], dict[str, object]]:
    return lambda: messages_body(model)


def _chat(model: str) -> Callable[[], dict[str, object]]:
    return lambda: chat_body(model)


ANTHROPIC_ROUTE = "/anthropic/v1/messages"
# unpatched, the server key replaces a client's own credential on /anthropic
CLIENT_WINS = P0003_CLIENT_CREDENTIALS
CONFIG_MESSAGES = f"{CONFIG_ROUTE}/v1/messages"
CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"


def _passing(
    hop_id: str,
    path: str,
    headers: tuple[tuple[str, str], ...],
    sent: str,
    since: str | None = None,
) -> Hop:
    return Hop(hop_id, path, headers, _messages(CLAUDE), _on_anthropic, True, sent, since)


def _unified(
    hop_id: str,
    path: str,
    body: Callable[[], dict[str, object]],
    headers: tuple[tuple[str, str], ...],
    sent: str,
    redirector: Callable[[Egress], FakeAnthropic] = _on_anthropic,
) -> Hop:
    return Hop(hop_id, path, headers, body, redirector, False, sent)


HOPS = [
    # pass-through: /anthropic (OAuth, the client's key, the server key) and a config route
    _passing("anthropic-oauth", ANTHROPIC_ROUTE, (LOGIN, OAUTH), OAUTH_TOKEN, CLIENT_WINS),
    _passing("anthropic-client-key", ANTHROPIC_ROUTE, (LOGIN, OWN_KEY), CLIENT_KEY, CLIENT_WINS),
    _passing("anthropic-server-key", ANTHROPIC_ROUTE, (LOGIN,), SERVER_KEY),
    _passing("config-route-operator-key", CONFIG_MESSAGES, (LOGIN,), OPERATOR_KEY),
    _passing("config-route-oauth", CONFIG_MESSAGES, (LOGIN, OAUTH), OAUTH_TOKEN),
    # unified: /v1/messages and /v1/chat/completions
    _unified("messages-oauth", MESSAGES, _messages(CLAUDE), (LOGIN, OAUTH), OAUTH_TOKEN),
    _unified("messages-client-key", MESSAGES, _messages(CLAUDE), (LOGIN, OWN_KEY), CLIENT_KEY),
    _unified("messages-deployment-key", MESSAGES, _messages(CLAUDE), (LOGIN,), DEPLOYMENT_KEY),
    _unified("messages-server-key", MESSAGES, _messages(CLAUDE_SERVER_KEY), (LOGIN,), SERVER_KEY),
    _unified("chat-client-key", CHAT, _chat(CLAUDE), (LOGIN, OWN_KEY), CLIENT_KEY),
    _unified("chat-deployment-key", CHAT, _chat(GPT), (LOGIN,), OPENAI_KEY, _on_openai),
]


def _redirect_rows() -> list[object]:
    """Every hop x every 3xx. Unpatched upstream follows the five followable statuses."""
    rows = []
    for hop in HOPS:
        for status in REDIRECT_STATUSES:
            marks = [pytest.mark.fixed_by(P_EGRESS)] if status in FOLLOWABLE else []
            if hop.sent_since is not None:
                marks.append(pytest.mark.fixed_by(hop.sent_since))
            rows.append(pytest.param(hop, status, id=f"{hop.id}-{status}", marks=marks))
    return rows


@pytest.mark.parametrize(("hop", "status"), _redirect_rows())
def test_no_credential_follows_a_redirect_to_another_host(
    egress: Egress, hop: Hop, status: int
) -> None:
    egress.reset()
    redirector = hop.redirector(egress)
    redirector.redirect = (status, egress.elsewhere.url)
    response = hop.send(egress)
    assert any(
        any(value.endswith(hop.sent) for _, value in request.headers)
        for request in redirector.requests
    ), f"nothing reached the upstream with its credential: {response.status_code} {response.text}"
    for secret in SECRETS:
        assert_key_nowhere(egress.elsewhere.requests, secret)
    location = f"{egress.elsewhere.url}/redirected"
    if hop.passes_through:  # a transparent proxy hands the redirect back, as it came
        assert response.status_code == status, response.text
        assert response.headers.get("location", "").startswith(location), response.headers
    else:
        assert not response.is_success, response.text
        if status in FOLLOWABLE:  # the error says what was not followed, and where to (the
            # chat route's error text masks IP addresses, so the port stands for the host here)
            port = egress.elsewhere.url.rsplit(":", 1)[1]
            assert f"answered {status} with a redirect" in response.text, response.text
            assert f":{port}" in response.text, response.text
    assert egress.elsewhere.requests == [], "a cross-origin redirect was followed"


@pytest.mark.parametrize("status", FOLLOWABLE)
def test_unified_route_follows_a_redirect_within_the_same_origin(
    egress: Egress, status: int
) -> None:
    """The same scheme, host and port: the deployment moved a path, and its key may follow."""
    egress.reset()
    egress.anthropic.redirect = (status, egress.anthropic.url)
    response = post(egress.guarded, "/v1/messages", (LOGIN,), messages_body(CLAUDE))
    assert response.status_code == 200, response.text
    followed = [r for r in egress.anthropic.requests if r.path.startswith("/redirected")]
    assert [r.header("x-api-key") for r in followed] == [DEPLOYMENT_KEY]
    # 307 and 308 keep the method and body; 301, 302 and 303 turn a POST into a GET (as httpx does)
    assert followed[0].method == ("POST" if status in (307, 308) else "GET")
    assert egress.elsewhere.requests == []


@pytest.mark.fixed_by(P_EGRESS)
@pytest.mark.parametrize("status", FOLLOWABLE)
def test_pass_through_hands_back_a_same_origin_redirect(egress: Egress, status: int) -> None:
    egress.reset()
    egress.anthropic.redirect = (status, egress.anthropic.url)
    response = post(egress.guarded, ANTHROPIC_ROUTE, (LOGIN, OAUTH), messages_body(CLAUDE))
    assert response.status_code == status, response.text
    assert len(egress.anthropic.requests) == 1


@pytest.mark.fixed_by(P_EGRESS)
def test_a_retry_follows_no_redirect_to_another_host(egress: Egress) -> None:
    """The retry of a refused attempt passes the same rule: still nothing reaches the other host."""
    egress.reset()
    egress.anthropic.redirect = (307, egress.elsewhere.url)
    response = post(egress.guarded, MESSAGES, (LOGIN, OWN_KEY), messages_body(CLAUDE_RETRIED))
    assert not response.is_success, response.text
    attempts = [r for r in egress.anthropic.requests if r.header("x-api-key") == CLIENT_KEY]
    assert len(attempts) == 2, f"expected the attempt and its retry: {egress.anthropic.requests}"
    assert egress.elsewhere.requests == []


# --- Anthropic credentials x deployments ------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    id: str
    model: str
    upstream: Callable[[Egress], FakeAnthropic]
    anthropic: bool  # on an Anthropic origin
    own_key: str | None  # the credential it authenticates with when the client's may not go


def _third_party(egress: Egress) -> FakeAnthropic:
    return egress.third_party


DEPLOYMENTS = [
    Deployment("anthropic-base", CLAUDE, _on_anthropic, True, DEPLOYMENT_KEY),
    Deployment("third-party", CLAUDE_THIRD_PARTY, _third_party, False, THIRD_PARTY_KEY),
    Deployment("openai-compatible", GPT, _on_openai, False, OPENAI_KEY),
    Deployment("bedrock", BEDROCK, _third_party, False, None),
]
CREDENTIALS = {"oauth": (OAUTH, OAUTH_TOKEN), "client-key": (OWN_KEY, CLIENT_KEY)}
ROUTES = {"messages": ("/v1/messages", messages_body), "chat": ("/v1/chat/completions", chat_body)}


def _deployment_rows() -> list[object]:
    rows = []
    for route in ROUTES:
        for deployment in DEPLOYMENTS:
            if route == "messages" and deployment.model == GPT:
                continue  # an OpenAI deployment has no Messages API of its own
            for credential in CREDENTIALS:
                # upstream sends a client's key on under BYOK to every deployment; the OAuth
                # token it already keeps to Anthropic on these (the series' unified patches)
                leaks_upstream = credential == "client-key" and not deployment.anthropic
                marks = [pytest.mark.fixed_by(P_EGRESS)] if leaks_upstream else []
                if credential == "oauth" and deployment.model == CLAUDE_THIRD_PARTY:
                    marks.append(pytest.mark.fixed_by(P_OAUTH_SCOPE))  # #42172
                row_id = f"{route}-{deployment.id}-{credential}"
                rows.append(pytest.param(route, deployment, credential, id=row_id, marks=marks))
    return rows


@pytest.mark.parametrize(("route", "deployment", "credential"), _deployment_rows())
def test_anthropic_credentials_reach_only_anthropic(
    egress: Egress, route: str, deployment: Deployment, credential: str
) -> None:
    egress.reset()
    path, body = ROUTES[route]
    header, secret = CREDENTIALS[credential]
    response = post(egress.guarded, path, (LOGIN, header), body(deployment.model))
    upstream = deployment.upstream(egress)
    assert upstream.requests, f"no request reached the deployment: {response.text}"
    if deployment.anthropic:
        assert any(value.endswith(secret) for _, value in upstream.only_request().headers)
        assert response.status_code == 200, response.text
    else:
        for sent in egress.not_anthropic():
            assert_key_nowhere([sent], secret)
            assert_key_nowhere([sent], OAUTH_TOKEN)
        if deployment.own_key is not None:  # it authenticates with its own key instead
            request = upstream.only_request()
            assert any(value.endswith(deployment.own_key) for _, value in request.headers)
            assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("route", "credential"),
    [
        pytest.param(route, credential, id=f"{route}-{credential}", marks=marks)
        for route in ("messages", "chat")
        for credential in CREDENTIALS
        for marks in [[pytest.mark.fixed_by(P_EGRESS)] if credential == "client-key" else []]
    ],
)
def test_a_fallback_to_another_provider_gets_no_anthropic_credential(
    egress: Egress, route: str, credential: str
) -> None:
    """An Anthropic deployment fails over to the OpenAI-compatible one (a forced fallback)."""
    egress.reset()
    path, body = ROUTES[route]
    header, secret = CREDENTIALS[credential]
    request = body(CLAUDE_FALLS_BACK, mock_testing_fallbacks=True)
    response = post(egress.guarded, path, (LOGIN, header), request)
    assert egress.openai.requests, f"the fallback never ran: {response.text}"
    for sent in egress.not_anthropic():
        assert_key_nowhere([sent], secret)
    assert any(value.endswith(OPENAI_KEY) for _, value in egress.openai.only_request().headers)


@pytest.mark.fixed_by(P_EGRESS)
def test_the_server_key_never_reaches_a_third_party_base(egress: Egress) -> None:
    """An anthropic/ deployment on a third party's api_base without a key of its own: upstream
    sends it the proxy's ANTHROPIC_API_KEY, which is the operator's key for Anthropic only."""
    egress.reset()
    response = post(egress.guarded, MESSAGES, (LOGIN,), messages_body(CLAUDE_THIRD_PARTY_NO_KEY))
    assert egress.third_party.requests, response.text
    for sent in egress.not_anthropic():
        assert_key_nowhere([sent], SERVER_KEY)


# --- a personal proxy without a master key (BerriAI/litellm#42170) ----------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["non-streaming", "streaming"])
@pytest.mark.parametrize("byok", [False, True], ids=["byok-off", "byok-on"])
@pytest.mark.parametrize(
    "route",
    [
        pytest.param("/v1/messages", marks=pytest.mark.fixed_by(P_OPEN_PROXY)),
        pytest.param(ANTHROPIC_ROUTE, marks=pytest.mark.fixed_by(CLIENT_WINS)),
    ],
)
def test_open_proxy_forwards_a_claude_subscription(
    egress: Egress, route: str, byok: bool, stream: bool
) -> None:
    """Claude Code sends only its OAuth token: nothing authenticated the caller, so the token is
    the client's own credential, and it reaches Anthropic unchanged, with the OAuth beta."""
    egress.reset()
    proxy = egress.open_byok if byok else egress.open
    headers = [(k, v) for k, v in claude_code_headers() if k.lower() != "anthropic-beta"]
    with loopback_client(proxy.url, 60.0) as client:
        response = client.post(
            f"{route}?beta=true", headers=headers, json=messages_body(CLAUDE, stream)
        )
    assert response.status_code == 200, response.text
    upstream = egress.anthropic.only_request()
    assert_credentials(upstream, None, f"Bearer {OAUTH_TOKEN}")
    assert OAUTH_BETA in betas(upstream)
    if stream:
        assert "message_stop" in response.text
    for sent in egress.not_anthropic():
        assert_key_nowhere([sent], OAUTH_TOKEN)
