"""Unit layer: the shared header helper and the LiteLLM-key recognition the series relies on."""

from __future__ import annotations

import pytest

from .constants import (
    CLIENT_KEY,
    MASTER_KEY,
    OAUTH_BETA,
    OAUTH_TOKEN,
    P0001_X_LITELLM_API_KEY,
    P0002_CALLER_LITELLM_KEY,
    mixed_case,
)

CASINGS = [
    "x-litellm-api-key",
    "X-LiteLLM-API-Key",
    "X-LITELLM-API-KEY",
    mixed_case("x-litellm-api-key"),
]


def forward_headers_from_request(
    request_headers: dict[str, str], headers: dict[str, str], forward_headers: bool
) -> dict[str, str]:
    """LiteLLM's helper, imported when a test runs (not at collection: it imports LiteLLM)."""
    from litellm.passthrough.utils import BasePassthroughUtils

    return BasePassthroughUtils.forward_headers_from_request(
        request_headers=request_headers, headers=headers, forward_headers=forward_headers
    )


def forward(request_headers: dict[str, str], forward_headers: bool = True) -> dict[str, str]:
    return forward_headers_from_request(
        dict(request_headers), {"x-api-key": "from-config"}, forward_headers
    )


def lowered(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


@pytest.mark.fixed_by(P0001_X_LITELLM_API_KEY)
@pytest.mark.parametrize("name", CASINGS)
def test_x_litellm_api_key_is_not_forwarded_in_any_casing(name: str) -> None:
    out = forward({name: f"Bearer {MASTER_KEY}", "anthropic-version": "2023-06-01"})
    assert "x-litellm-api-key" not in lowered(out)
    assert MASTER_KEY not in " ".join(out.values())
    assert lowered(out)["anthropic-version"] == "2023-06-01"


@pytest.mark.fixed_by(P0001_X_LITELLM_API_KEY)
@pytest.mark.parametrize("name", ["x-pass-x-litellm-api-key", "X-Pass-X-LiteLLM-API-Key"])
def test_x_pass_prefix_does_not_smuggle_the_litellm_key(name: str) -> None:
    for forward_headers in (True, False):
        out = forward({name: MASTER_KEY}, forward_headers=forward_headers)
        assert MASTER_KEY not in " ".join(out.values()), out


def test_other_headers_and_x_pass_overrides_still_work() -> None:
    out = forward(
        {
            "anthropic-beta": "a-beta",
            "x-pass-anthropic-beta": "override-beta",
            "host": "proxy.example",
            "content-length": "12",
            "x-app": "cli",
        }
    )
    assert out["anthropic-beta"] == "override-beta"
    assert out["x-app"] == "cli"
    assert "host" not in out and "content-length" not in out
    assert out["x-api-key"] == "from-config"


def test_without_forward_headers_only_x_pass_headers_are_forwarded() -> None:
    out = forward(
        {"x-litellm-api-key": MASTER_KEY, "x-pass-anthropic-beta": "b", "x-app": "cli"}, False
    )
    assert out == {"x-api-key": "from-config", "anthropic-beta": "b"}


def test_operator_configured_headers_are_left_alone() -> None:
    """Only the caller's x-litellm-api-key is dropped: a route the operator configured to send one
    (e.g. to a second LiteLLM proxy) keeps it."""
    out = forward_headers_from_request({}, {"x-litellm-api-key": "downstream-key"}, True)
    assert out == {"x-litellm-api-key": "downstream-key"}


def _is_caller_key(
    value: str, login_key: str | None, master_key: str | None, custom_auth: object = None
) -> bool:
    """Log in with `login_key` (as user_api_key_auth does), then ask the patched recogniser."""
    from types import SimpleNamespace

    from litellm.proxy import proxy_server
    from litellm.proxy.auth import caller_secret_guard as guard

    request = SimpleNamespace(state=SimpleNamespace())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(proxy_server, "master_key", master_key)
        patch.setattr(proxy_server, "user_custom_auth", custom_auth)
        guard.remember_caller_key(request, login_key)
        return guard.carries_caller_secret(value, guard.caller_secrets(request))


@pytest.mark.fixed_by(P0002_CALLER_LITELLM_KEY)
@pytest.mark.parametrize(
    "value",
    [MASTER_KEY, f"Bearer {MASTER_KEY}", f"bearer {MASTER_KEY}", f"  Bearer   {MASTER_KEY} "],
)
def test_master_key_is_recognised_bare_or_bearer(value: str) -> None:
    assert _is_caller_key(value, login_key=MASTER_KEY, master_key=MASTER_KEY)


@pytest.mark.fixed_by(P0002_CALLER_LITELLM_KEY)
def test_the_virtual_key_the_caller_logged_in_with_is_recognised() -> None:
    virtual_key = "sk-litellm-test-virtual-0c3d"
    assert _is_caller_key(f"Bearer {virtual_key}", login_key=virtual_key, master_key=MASTER_KEY)
    assert not _is_caller_key(
        "Bearer sk-litellm-test-other", login_key=virtual_key, master_key=MASTER_KEY
    )


@pytest.mark.fixed_by(P0002_CALLER_LITELLM_KEY)
@pytest.mark.parametrize("value", [f"Bearer {OAUTH_TOKEN}", CLIENT_KEY, "", "Bearer "])
def test_provider_credentials_are_not_litellm_keys(value: str) -> None:
    assert not _is_caller_key(value, login_key=MASTER_KEY, master_key=MASTER_KEY)


@pytest.mark.fixed_by(P0002_CALLER_LITELLM_KEY)
def test_without_master_key_nothing_is_a_litellm_key() -> None:
    """No master key: nothing authenticated the caller, its Authorization is its own credential."""
    assert not _is_caller_key(f"Bearer {OAUTH_TOKEN}", login_key=OAUTH_TOKEN, master_key=None)


@pytest.mark.fixed_by(P0002_CALLER_LITELLM_KEY)
def test_with_custom_auth_only_the_master_key_is_recognised() -> None:
    """Custom auth may put a provider key in api_key: only the master key is known for sure."""

    async def custom_auth(request: object, api_key: str) -> None:
        raise NotImplementedError

    assert not _is_caller_key(
        CLIENT_KEY, login_key=CLIENT_KEY, master_key=MASTER_KEY, custom_auth=custom_auth
    )
    assert _is_caller_key(
        MASTER_KEY, login_key=CLIENT_KEY, master_key=MASTER_KEY, custom_auth=custom_auth
    )


@pytest.mark.parametrize("provider", ["bedrock", "vertex_ai", "vertex_ai_beta"])
def test_oauth_header_is_never_scoped_to_bedrock_or_vertex(provider: str) -> None:
    """The live layer checks Bedrock end to end (test_live_unified_route); Vertex needs Google
    credentials no loopback fake can mint, so this is checked where the proxy scopes the
    client's headers to providers (upstream PR #37905), with anthropic as control."""
    from litellm.litellm_core_utils.get_provider_specific_headers import (
        ProviderSpecificHeaderUtils,
    )
    from litellm.proxy.litellm_pre_call_utils import add_provider_specific_headers_to_request

    data: dict[str, object] = {}
    sent = {"authorization": f"Bearer {OAUTH_TOKEN}", "anthropic-beta": OAUTH_BETA}
    add_provider_specific_headers_to_request(data=data, headers=sent)
    scoped = data["provider_specific_header"]

    def headers_for(name: str) -> dict[str, str]:
        return dict(ProviderSpecificHeaderUtils.get_provider_specific_headers(scoped, name))  # type: ignore[arg-type]

    assert headers_for("anthropic").get("authorization") == f"Bearer {OAUTH_TOKEN}"
    assert OAUTH_TOKEN not in str(headers_for(provider))
