"""In-process layer: /anthropic on the proxy's FastAPI app, Anthropic mocked with respx."""

from __future__ import annotations

import pytest

from .checks import assert_credentials, assert_no_none_string, assert_secret_nowhere, betas
from .constants import (
    CLAUDE_CODE_QUERY,
    CLIENT_KEY,
    MASTER_KEY,
    MESSAGES_PATH,
    OAUTH_BETA,
    OAUTH_TOKEN,
    OTHER_BETA,
    P0001_X_LITELLM_API_KEY,
    P0002_CALLER_LITELLM_KEY,
    P0003_CLIENT_CREDENTIALS,
    P0004_OAUTH_BETA,
    SERVER_KEY,
    UPSTREAM_LETS_ANTHROPIC_ANSWER_401,
    UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC,
    claude_code_body,
    claude_code_headers,
    with_casing,
)
from .inprocess_fixtures import InProcessProxy, ProxyFactory

CASINGS = ["as-sent", "mixed"]
LITELLM_KEY_HEADER = ("x-litellm-api-key", f"Bearer {MASTER_KEY}")


async def post(
    proxy: InProcessProxy, headers: list[tuple[str, str]], casing: str = "as-sent", **body: object
) -> int:
    response = await proxy.client.post(
        f"{MESSAGES_PATH}?{CLAUDE_CODE_QUERY}",
        headers=with_casing(headers, casing),
        json={**claude_code_body(stream=False), **body},
    )
    return response.status_code


@pytest.mark.fixed_by(P0003_CLIENT_CREDENTIALS)
@pytest.mark.parametrize("casing", CASINGS)
async def test_claude_code_oauth_reaches_anthropic_alone(
    inprocess_proxy: ProxyFactory, casing: str
) -> None:
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        assert await post(proxy, [*claude_code_headers(), LITELLM_KEY_HEADER], casing) == 200
        assert_credentials(proxy.only_upstream_request(), None, f"Bearer {OAUTH_TOKEN}")


@pytest.mark.fixed_by(
    P0001_X_LITELLM_API_KEY, upstream_ok=UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC
)
@pytest.mark.parametrize("casing", CASINGS)
async def test_claude_code_litellm_key_is_not_forwarded(
    inprocess_proxy: ProxyFactory, casing: str
) -> None:
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        assert await post(proxy, [*claude_code_headers(), LITELLM_KEY_HEADER], casing) == 200
        assert_secret_nowhere(proxy.upstream_requests(), MASTER_KEY)


@pytest.mark.fixed_by(
    P0002_CALLER_LITELLM_KEY, upstream_ok=UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC
)
@pytest.mark.parametrize("casing", CASINGS)
async def test_litellm_key_as_bearer_is_swapped_for_the_server_key(
    inprocess_proxy: ProxyFactory, casing: str
) -> None:
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        assert await post(proxy, [("Authorization", f"Bearer {MASTER_KEY}")], casing) == 200
        assert_credentials(proxy.only_upstream_request(), SERVER_KEY, None)
        assert_secret_nowhere(proxy.upstream_requests(), MASTER_KEY)


@pytest.mark.parametrize("casing", CASINGS)
async def test_litellm_key_as_x_api_key_is_swapped_for_the_server_key(
    inprocess_proxy: ProxyFactory, casing: str
) -> None:
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        assert await post(proxy, [("x-api-key", MASTER_KEY)], casing) == 200
        assert_credentials(proxy.only_upstream_request(), SERVER_KEY, None)
        assert_secret_nowhere(proxy.upstream_requests(), MASTER_KEY)


@pytest.mark.fixed_by(P0003_CLIENT_CREDENTIALS, upstream_ok=UPSTREAM_LETS_ANTHROPIC_ANSWER_401)
async def test_no_server_key_means_no_credential_and_anthropic_401(
    inprocess_proxy: ProxyFactory,
) -> None:
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=None) as proxy:
        status = await post(proxy, [LITELLM_KEY_HEADER])
        upstream = proxy.only_upstream_request()
        assert_no_none_string(upstream)
        assert_credentials(upstream, None, None)
        assert status == 401


async def test_caller_without_litellm_key_is_rejected_before_anthropic(
    inprocess_proxy: ProxyFactory,
) -> None:
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        status = await post(proxy, claude_code_headers())
        assert 400 <= status < 500
        assert proxy.upstream_requests() == []


@pytest.mark.fixed_by(P0003_CLIENT_CREDENTIALS)
async def test_without_master_key_oauth_is_forwarded_alone(inprocess_proxy: ProxyFactory) -> None:
    async with inprocess_proxy(master_key=None, server_key=SERVER_KEY) as proxy:
        assert await post(proxy, claude_code_headers()) == 200
        assert_credentials(proxy.only_upstream_request(), None, f"Bearer {OAUTH_TOKEN}")


async def test_metadata_user_id_reaches_anthropic(inprocess_proxy: ProxyFactory) -> None:
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        assert await post(proxy, [*claude_code_headers(), LITELLM_KEY_HEADER]) == 200
        assert proxy.only_upstream_request().json() == claude_code_body(stream=False)


@pytest.mark.fixed_by(P0004_OAUTH_BETA)
@pytest.mark.parametrize("caller_betas", ["", OTHER_BETA, f"{OTHER_BETA},other-beta-2025-01-01"])
async def test_oauth_beta_is_merged_into_the_caller_betas(
    inprocess_proxy: ProxyFactory, caller_betas: str
) -> None:
    headers = [("Authorization", f"Bearer {OAUTH_TOKEN}"), LITELLM_KEY_HEADER]
    if caller_betas:
        headers.append(("anthropic-beta", caller_betas))
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        assert await post(proxy, headers) == 200
        received = betas(proxy.only_upstream_request())
    assert OAUTH_BETA in received
    assert [b for b in received if b != OAUTH_BETA] == [b for b in caller_betas.split(",") if b]


async def test_api_key_callers_get_no_oauth_beta(inprocess_proxy: ProxyFactory) -> None:
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        headers = [("x-api-key", CLIENT_KEY), LITELLM_KEY_HEADER, ("anthropic-beta", OTHER_BETA)]
        assert await post(proxy, headers) == 200
        assert betas(proxy.only_upstream_request()) == [OTHER_BETA]


def upstream_refuses_credential_overrides() -> bool:
    """LiteLLM 1.84+ documents that x-pass- cannot set credential headers; older ones allow it.

    The skip marks name it as a string, so it runs (importing LiteLLM) at setup, not collection.
    """
    from litellm.passthrough import utils

    return "x-api-key" in getattr(utils, "_PASS_THROUGH_PROTECTED_HEADERS", ())


async def test_x_pass_x_api_key_override_follows_upstream(inprocess_proxy: ProxyFactory) -> None:
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        assert await post(proxy, [("x-pass-x-api-key", CLIENT_KEY), LITELLM_KEY_HEADER]) == 200
        expected = SERVER_KEY if upstream_refuses_credential_overrides() else CLIENT_KEY
        assert proxy.only_upstream_request().header("x-api-key") == expected


@pytest.mark.skipif(
    "upstream_refuses_credential_overrides()", reason="upstream refuses the override"
)
@pytest.mark.fixed_by(P0003_CLIENT_CREDENTIALS)
async def test_x_pass_authorization_counts_as_a_client_credential(
    inprocess_proxy: ProxyFactory,
) -> None:
    headers = [("x-pass-authorization", f"Bearer {OAUTH_TOKEN}"), LITELLM_KEY_HEADER]
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        assert await post(proxy, headers) == 200
        upstream = proxy.only_upstream_request()
        assert upstream.header("authorization") == f"Bearer {OAUTH_TOKEN}"
        assert not upstream.has_header("x-api-key")


@pytest.mark.skipif("not upstream_refuses_credential_overrides()", reason="upstream allows it")
async def test_refused_x_pass_authorization_falls_back_to_the_server_key(
    inprocess_proxy: ProxyFactory,
) -> None:
    headers = [("x-pass-authorization", f"Bearer {OAUTH_TOKEN}"), LITELLM_KEY_HEADER]
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        assert await post(proxy, headers) == 200
        upstream = proxy.only_upstream_request()
        assert upstream.header("x-api-key") == SERVER_KEY
        assert not upstream.has_header("authorization")


@pytest.mark.fixed_by(P0001_X_LITELLM_API_KEY)
async def test_x_pass_cannot_smuggle_x_litellm_api_key(inprocess_proxy: ProxyFactory) -> None:
    headers = [LITELLM_KEY_HEADER, ("x-pass-x-litellm-api-key", f"Bearer {MASTER_KEY}")]
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        assert await post(proxy, headers) == 200
        assert_secret_nowhere(proxy.upstream_requests(), MASTER_KEY)


@pytest.mark.fixed_by(
    P0002_CALLER_LITELLM_KEY, upstream_ok=UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC
)
async def test_x_pass_cannot_smuggle_the_litellm_key(inprocess_proxy: ProxyFactory) -> None:
    headers = [("Authorization", f"Bearer {MASTER_KEY}"), ("x-pass-x-api-key", MASTER_KEY)]
    async with inprocess_proxy(master_key=MASTER_KEY, server_key=SERVER_KEY) as proxy:
        assert await post(proxy, headers) == 200
        assert_secret_nowhere(proxy.upstream_requests(), MASTER_KEY)
        assert proxy.only_upstream_request().header("x-api-key") == SERVER_KEY
