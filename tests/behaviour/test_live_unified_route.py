"""Live layer: the unified /v1/messages route, routed to model_list deployments.

The set-up LiteLLM's Claude Code tutorials use: ANTHROPIC_BASE_URL is the proxy root, the model is
a deployment name, and general_settings forwards client headers and provider auth headers (see
unified_route.py for the proxies and upstreams). Each row is a real request; the verdict is read
off what the recording upstreams received.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest

from .checks import assert_credentials, assert_key_nowhere, assert_no_none_string, carries
from .constants import (
    CLIENT_KEY,
    MASTER_KEY,
    OAUTH_BETA,
    OAUTH_TOKEN,
    P_EGRESS,
    P_OAUTH_SCOPE,
    P_UNIFIED_KEY,
    claude_code_headers,
    simple_body,
)
from .live_proxy import loopback_client
from .unified_route import (
    ANTHROPIC,
    ANTHROPIC_NO_KEY,
    AWS_ACCESS_KEY_ID,
    BEDROCK,
    GATEWAY,
    LITELLM_LOGIN,
    MESSAGES,
    SERVER_KEY,
    THIRD_PARTY,
    THIRD_PARTY_KEY,
    THIRD_PARTY_NO_KEY,
    UnifiedProxies,
    send,
)


def test_the_any_form_check_sees_every_wrapping() -> None:
    """The check above is what makes the adversarial rows meaningful: it must catch each form."""
    for form in KEY_FORMS:
        value = form.value(MASTER_KEY)
        assert carries(value, MASTER_KEY), form.id
        assert not carries(form.value("sk-litellm-test-other-0000000000"), MASTER_KEY), form.id


# --- the adversarial matrix: the caller's LiteLLM key, in any form, in any forwarded header ------


@dataclass(frozen=True)
class KeyForm:
    id: str
    template: str  # {k}: the key

    def value(self, key: str) -> str:
        if self.id == "percent-encoded":
            return "".join(f"%{byte:02X}" for byte in key.encode())
        if self.id == "base64-basic":
            return "Basic " + base64.b64encode(f"litellm:{key}".encode()).decode()
        return self.template.format(k=key)


KEY_FORMS = [
    KeyForm("bare", "{k}"),
    KeyForm("basic", "Basic {k}"),
    KeyForm("embedded", "abc{k}"),
    KeyForm("bearer-two-spaces", "Bearer  {k}"),
    KeyForm("bearer-upper", "BEARER {k}"),
    KeyForm("bearer-mixed", "bEaReR {k}"),
    KeyForm("bearer-tab", "Bearer\t{k}"),
    KeyForm("bearer-repeated", "Bearer Bearer {k}"),
    KeyForm("comma-list", f"Bearer {OAUTH_TOKEN}, Bearer {{k}}"),
    KeyForm(
        "sigv4",
        "AWS4-HMAC-SHA256 Credential={k}/20261130/us-east-1/bedrock/aws4_request,"
        " SignedHeaders=host;x-amz-date, Signature=0123abcd",
    ),
    KeyForm("percent-encoded", ""),
    KeyForm("base64-basic", ""),
]
# x-api-key is the provider auth header; x-trace and x-custom are forwarded client headers.
CARRIERS = ["x-api-key", "x-trace", "x-custom"]
ROUTED = [ANTHROPIC, THIRD_PARTY]


@pytest.mark.fixed_by(P_UNIFIED_KEY)
@pytest.mark.parametrize("deployment", ROUTED)
@pytest.mark.parametrize("carrier", CARRIERS)
@pytest.mark.parametrize("form", KEY_FORMS, ids=[f.id for f in KEY_FORMS])
def test_litellm_key_in_any_form_reaches_no_upstream(
    unified: UnifiedProxies, deployment: str, carrier: str, form: KeyForm
) -> None:
    unified.reset()
    response = send(unified.byok, deployment, [LITELLM_LOGIN, (carrier, form.value(MASTER_KEY))])
    received = unified.everything_received()
    assert received, f"nothing reached an upstream: {response.status_code} {response.text}"
    assert_key_nowhere(received, MASTER_KEY)


@pytest.mark.fixed_by(P_UNIFIED_KEY)
@pytest.mark.parametrize("deployment", ROUTED)
@pytest.mark.parametrize(
    "header",
    [
        ("anthropic-beta", f"{OAUTH_BETA},{MASTER_KEY}"),
        ("Authorization", f"Bearer sk-ant-oat01-test-{MASTER_KEY}"),  # looks like OAuth
        ("X-Trace", f"abc{MASTER_KEY}"),  # header-name casing
    ],
    ids=["in-anthropic-beta", "in-oauth-lookalike", "header-name-casing"],
)
def test_litellm_key_inside_provider_specific_headers_reaches_no_upstream(
    unified: UnifiedProxies, deployment: str, header: tuple[str, str]
) -> None:
    unified.reset()
    response = send(unified.byok, deployment, [LITELLM_LOGIN, header])
    received = unified.everything_received()
    assert received, f"nothing reached an upstream: {response.status_code} {response.text}"
    assert_key_nowhere(received, MASTER_KEY)


@pytest.mark.parametrize("deployment", ROUTED)
@pytest.mark.parametrize("param", ["key", "api_key", "x-litellm-api-key"])
def test_litellm_key_in_the_query_reaches_no_upstream(
    unified: UnifiedProxies, deployment: str, param: str
) -> None:
    """Holds upstream too: this route builds the provider URL itself and drops the query."""
    unified.reset()
    body = {**simple_body(), "model": deployment}
    with loopback_client(unified.byok.url, 30.0) as client:
        client.post(
            f"{MESSAGES}?beta=true&{param}={MASTER_KEY}", headers=[LITELLM_LOGIN], json=body
        )
    assert unified.everything_received()
    assert_key_nowhere(unified.everything_received(), MASTER_KEY)


@pytest.mark.fixed_by(P_UNIFIED_KEY)
@pytest.mark.parametrize("deployment", ROUTED)
def test_litellm_key_as_basic_x_api_key_without_byok_reaches_no_upstream(
    unified: UnifiedProxies, deployment: str
) -> None:
    """Without forward_llm_provider_auth_headers, x-api-key is dropped, x-* headers are not."""
    unified.reset()
    headers = [LITELLM_LOGIN, ("x-api-key", f"Basic {MASTER_KEY}"), ("x-trace", f"abc{MASTER_KEY}")]
    send(unified.no_byok, deployment, headers)
    received = unified.everything_received()
    assert received
    assert_key_nowhere(received, MASTER_KEY)


# --- OAuth scope: a client's Anthropic OAuth token reaches Anthropic and nothing else -----------


def _oauth_headers() -> list[tuple[str, str]]:
    return [*claude_code_headers(), LITELLM_LOGIN]


@pytest.mark.parametrize("deployment", [ANTHROPIC, ANTHROPIC_NO_KEY])
@pytest.mark.parametrize("byok", [True, False], ids=["byok-on", "byok-off"])
def test_oauth_token_reaches_the_anthropic_base(
    unified: UnifiedProxies, deployment: str, byok: bool
) -> None:
    unified.reset()
    proxy = unified.byok if byok else unified.no_byok
    response = send(proxy, deployment, _oauth_headers(), stream=True)
    upstream = unified.anthropic.only_request()
    assert_credentials(upstream, None, f"Bearer {OAUTH_TOKEN}")
    assert OAUTH_BETA in (upstream.header("anthropic-beta") or "")
    assert_key_nowhere(unified.everything_received(), MASTER_KEY)
    assert response.status_code == 200, response.text


@pytest.mark.fixed_by(P_OAUTH_SCOPE)
@pytest.mark.parametrize("byok", [True, False], ids=["byok-on", "byok-off"])
@pytest.mark.parametrize("stream", [False, True], ids=["non-streaming", "streaming"])
def test_oauth_token_never_reaches_a_third_party_api_base(
    unified: UnifiedProxies, byok: bool, stream: bool
) -> None:
    """Upstream issue BerriAI/litellm#42172: the deployment's own key goes there instead."""
    unified.reset()
    proxy = unified.byok if byok else unified.no_byok
    response = send(proxy, THIRD_PARTY, _oauth_headers(), stream=stream)
    upstream = unified.third_party.only_request()
    assert_key_nowhere(unified.everything_received(), OAUTH_TOKEN)
    assert_credentials(upstream, THIRD_PARTY_KEY, None)
    assert_key_nowhere(unified.everything_received(), MASTER_KEY)
    assert response.status_code == 200, response.text


@pytest.mark.fixed_by(P_OAUTH_SCOPE)
@pytest.mark.parametrize("deployment", [THIRD_PARTY, THIRD_PARTY_NO_KEY, BEDROCK])
def test_oauth_token_as_byok_x_api_key_never_reaches_a_third_party(
    unified: UnifiedProxies, deployment: str
) -> None:
    """Forwarded as x-api-key, the token would be the api_key of whatever deployment serves."""
    unified.reset()
    response = send(unified.byok, deployment, [LITELLM_LOGIN, ("x-api-key", OAUTH_TOKEN)])
    assert_key_nowhere(unified.everything_received(), OAUTH_TOKEN)
    if deployment == THIRD_PARTY:
        assert_credentials(unified.third_party.only_request(), THIRD_PARTY_KEY, None)
        assert response.status_code == 200, response.text


def test_oauth_token_as_byok_x_api_key_reaches_the_anthropic_base(unified: UnifiedProxies) -> None:
    unified.reset()
    response = send(unified.byok, ANTHROPIC, [LITELLM_LOGIN, ("x-api-key", OAUTH_TOKEN)])
    assert_credentials(unified.anthropic.only_request(), None, f"Bearer {OAUTH_TOKEN}")
    assert response.status_code == 200, response.text


@pytest.mark.fixed_by(P_OAUTH_SCOPE)
def test_oauth_token_never_reaches_a_third_party_without_a_key(unified: UnifiedProxies) -> None:
    """No key of its own: the proxy refuses rather than lend the client's subscription."""
    unified.reset()
    send(unified.byok, THIRD_PARTY_NO_KEY, _oauth_headers())
    assert_key_nowhere(unified.everything_received(), OAUTH_TOKEN)


@pytest.mark.fixed_by(P_OAUTH_SCOPE)
def test_count_tokens_never_sends_the_oauth_token_to_a_third_party(unified: UnifiedProxies) -> None:
    """Claude Code counts tokens too: /v1/messages/count_tokens follows the same scope."""
    unified.reset()
    with loopback_client(unified.byok.url, 30.0) as client:
        client.post(
            f"{MESSAGES}/count_tokens?beta=true",
            headers=_oauth_headers(),
            json={**simple_body(), "model": THIRD_PARTY_NO_KEY},
        )
    assert_key_nowhere(unified.everything_received(), OAUTH_TOKEN)


@pytest.mark.fixed_by(P_UNIFIED_KEY)
def test_count_tokens_never_sends_the_litellm_key(unified: UnifiedProxies) -> None:
    unified.reset()
    headers = [LITELLM_LOGIN, ("Authorization", f"Bearer sk-ant-oat01-test-{MASTER_KEY}")]
    with loopback_client(unified.byok.url, 30.0) as client:
        client.post(
            f"{MESSAGES}/count_tokens?beta=true",
            headers=headers,
            json={**simple_body(), "model": ANTHROPIC_NO_KEY},
        )
    assert_key_nowhere(unified.everything_received(), MASTER_KEY)


@pytest.mark.parametrize(
    ("deployment", "header", "secret"),
    [
        pytest.param(
            THIRD_PARTY,
            ("Authorization", f"Bearer {OAUTH_TOKEN}"),
            OAUTH_TOKEN,
            marks=pytest.mark.fixed_by(P_OAUTH_SCOPE),
            id="oauth-to-third-party",
        ),
        pytest.param(
            ANTHROPIC,
            ("x-trace", f"Bearer  {MASTER_KEY}"),
            MASTER_KEY,
            marks=pytest.mark.fixed_by(P_UNIFIED_KEY),
            id="litellm-key-in-x-trace",
        ),
    ],
)
def test_chat_completions_route_keeps_the_same_rules(
    unified: UnifiedProxies, deployment: str, header: tuple[str, str], secret: str
) -> None:
    """/v1/chat/completions reaches the same deployments through the same header handling."""
    unified.reset()
    body = {"model": deployment, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    with loopback_client(unified.byok.url, 30.0) as client:
        response = client.post("/v1/chat/completions", headers=[LITELLM_LOGIN, header], json=body)
    assert unified.upstream_of(deployment).only_request().path == MESSAGES
    assert_key_nowhere(unified.everything_received(), secret)
    assert response.status_code == 200, response.text


def test_oauth_token_reaches_a_gateway_the_operator_allows(unified: UnifiedProxies) -> None:
    """`anthropic_oauth_allowed_api_bases` lists it: the operator vouches for that host."""
    unified.reset()
    response = send(unified.byok, GATEWAY, _oauth_headers())
    assert_credentials(unified.gateway.only_request(), None, f"Bearer {OAUTH_TOKEN}")
    assert response.status_code == 200, response.text


def test_oauth_token_never_reaches_bedrock(unified: UnifiedProxies) -> None:
    """Upstream fixed this in PR #37905, keep it fixed. Bedrock signs with SigV4."""
    unified.reset()
    send(unified.byok, BEDROCK, _oauth_headers())
    upstream = unified.third_party.only_request()
    assert upstream.path.endswith("/invoke"), upstream.path
    assert AWS_ACCESS_KEY_ID in (upstream.header("authorization") or "")
    assert_key_nowhere(unified.everything_received(), OAUTH_TOKEN)
    assert_key_nowhere(unified.everything_received(), MASTER_KEY)


@pytest.mark.parametrize(
    "deployment",
    [ANTHROPIC, pytest.param(THIRD_PARTY, marks=pytest.mark.fixed_by(P_OAUTH_SCOPE))],
)
def test_anthropic_sdk_at_the_proxy_root_with_an_oauth_token(
    unified: UnifiedProxies, deployment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The official SDK set up as the tutorials set up Claude Code: base URL = the proxy root."""
    import anthropic  # here, not at the top: collecting it costs every xdist worker ~1 s of CPU

    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    client = anthropic.Anthropic(
        base_url=unified.byok.url,
        auth_token=OAUTH_TOKEN,
        default_headers={"x-litellm-api-key": f"Bearer {MASTER_KEY}"},
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(trust_env=False),
    )
    unified.reset()
    message = client.messages.create(
        model=deployment, max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].type == "text"
    upstream = unified.upstream_of(deployment).only_request()
    if deployment == ANTHROPIC:
        assert_credentials(upstream, None, f"Bearer {OAUTH_TOKEN}")
    else:
        assert_credentials(upstream, THIRD_PARTY_KEY, None)
    assert_key_nowhere(unified.everything_received(), MASTER_KEY)


# --- the legitimate cases: what each deployment receives (the README's table) -------------------


@dataclass(frozen=True)
class Case:
    id: str
    headers: tuple[tuple[str, str], ...]
    byok: bool  # forward_llm_provider_auth_headers
    # deployment -> (x-api-key, authorization) it must receive
    expected: dict[str, tuple[str | None, str | None]]


DEPLOYMENT_KEY = {ANTHROPIC: (SERVER_KEY, None), THIRD_PARTY: (THIRD_PARTY_KEY, None)}
CASES = [
    Case("deployment-key-only", (LITELLM_LOGIN,), True, DEPLOYMENT_KEY),
    Case(  # a client's Anthropic key goes to Anthropic only; a third party uses its own key
        "byok-x-api-key",
        (LITELLM_LOGIN, ("x-api-key", CLIENT_KEY)),
        True,
        {ANTHROPIC: (CLIENT_KEY, None), THIRD_PARTY: (THIRD_PARTY_KEY, None)},
    ),
    Case(
        "byok-x-api-key-flag-off", (LITELLM_LOGIN, ("x-api-key", CLIENT_KEY)), False, DEPLOYMENT_KEY
    ),
    Case(
        "litellm-key-in-authorization",
        (("Authorization", f"Bearer {MASTER_KEY}"),),
        True,
        DEPLOYMENT_KEY,
    ),
    Case("litellm-key-in-x-api-key", (("x-api-key", MASTER_KEY),), True, DEPLOYMENT_KEY),
    Case("litellm-key-in-x-api-key-flag-off", (("x-api-key", MASTER_KEY),), False, DEPLOYMENT_KEY),
]


def _documented_rows() -> list[object]:
    """Every case x deployment; upstream sends a client's BYOK key to the third party too."""
    return [
        pytest.param(
            case,
            deployment,
            id=f"{case.id}-{deployment}",
            marks=[pytest.mark.fixed_by(P_EGRESS)]
            if (case.id, deployment) == ("byok-x-api-key", THIRD_PARTY)
            else [],
        )
        for deployment in ROUTED
        for case in CASES
    ]


@pytest.mark.parametrize(("case", "deployment"), _documented_rows())
def test_deployment_receives_the_documented_credential(
    unified: UnifiedProxies, case: Case, deployment: str
) -> None:
    unified.reset()
    proxy = unified.byok if case.byok else unified.no_byok
    response = send(proxy, deployment, case.headers)
    upstream = unified.upstream_of(deployment).only_request()
    assert_no_none_string(upstream)
    assert_credentials(upstream, *case.expected[deployment])
    assert_key_nowhere(unified.everything_received(), MASTER_KEY)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("byok", [True, False], ids=["byok-on", "byok-off"])
def test_no_credential_anywhere_is_refused_before_any_upstream_call(
    unified: UnifiedProxies, byok: bool
) -> None:
    """A deployment without a key, a caller without a credential: the proxy answers itself.

    401 (Missing Anthropic API Key); once that failure puts the deployment in cooldown, 429.
    """
    unified.reset()
    response = send(unified.byok if byok else unified.no_byok, ANTHROPIC_NO_KEY, [LITELLM_LOGIN])
    assert unified.everything_received() == []
    assert response.status_code in (401, 429), response.text
    assert MASTER_KEY not in response.text


def test_caller_without_litellm_key_is_rejected(unified: UnifiedProxies) -> None:
    unified.reset()
    response = send(unified.byok, ANTHROPIC, claude_code_headers())
    assert 400 <= response.status_code < 500, response.text
    assert unified.everything_received() == []
