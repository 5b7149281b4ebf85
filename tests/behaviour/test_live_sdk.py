"""Live layer: the official anthropic SDK with an OAuth token, through the proxy."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from .checks import assert_credentials, assert_secret_nowhere, betas
from .constants import (
    MASTER_KEY,
    OAUTH_BETA,
    OAUTH_TOKEN,
    P0001_X_LITELLM_API_KEY,
    P0003_CLIENT_CREDENTIALS,
    P0004_OAUTH_BETA,
    UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC,
)
from .fake_upstream import HOLD_TIMEOUT_S, MESSAGE
from .live_proxy import LiveProxy

if TYPE_CHECKING:  # imported where used: collecting it costs every xdist worker ~1 s of CPU
    import anthropic

EXPECTED_TEXT = MESSAGE["content"][0]["text"]
STREAM_MODES = ["non-streaming", "streaming"]


@pytest.fixture
def sdk(proxy_main: LiveProxy, monkeypatch: pytest.MonkeyPatch) -> anthropic.Anthropic:
    # The SDK falls back to these when not given: keep the runner's environment out.
    import anthropic

    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return anthropic.Anthropic(
        base_url=f"{proxy_main.url}/anthropic",
        auth_token=OAUTH_TOKEN,
        default_headers={"x-litellm-api-key": f"Bearer {MASTER_KEY}"},
        max_retries=0,
        timeout=anthropic.Timeout(15.0, read=HOLD_TIMEOUT_S / 2),
        http_client=anthropic.DefaultHttpxClient(trust_env=False),
    )


def ask(sdk: anthropic.Anthropic, mode: str) -> str:
    request = {
        "model": "claude-haiku-4-5-20251001",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
    }
    if mode == "streaming":
        with sdk.messages.stream(**request) as stream:  # type: ignore[arg-type]
            return stream.get_final_text()
    message = sdk.messages.create(**request)  # type: ignore[arg-type]
    return "".join(block.text for block in message.content if block.type == "text")


@pytest.mark.fixed_by(P0003_CLIENT_CREDENTIALS)
@pytest.mark.parametrize("mode", STREAM_MODES)
def test_sdk_oauth_token_reaches_anthropic_alone(
    sdk: anthropic.Anthropic, proxy_main: LiveProxy, mode: str
) -> None:
    assert ask(sdk, mode) == EXPECTED_TEXT
    assert_credentials(proxy_main.upstream.only_request(), None, f"Bearer {OAUTH_TOKEN}")


@pytest.mark.fixed_by(
    P0001_X_LITELLM_API_KEY, upstream_ok=UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC
)
@pytest.mark.parametrize("mode", STREAM_MODES)
def test_sdk_litellm_key_reaches_anthropic_nowhere(
    sdk: anthropic.Anthropic, proxy_main: LiveProxy, mode: str
) -> None:
    assert ask(sdk, mode) == EXPECTED_TEXT
    assert_secret_nowhere(proxy_main.upstream.requests, MASTER_KEY)


@pytest.mark.fixed_by(P0004_OAUTH_BETA)
def test_sdk_oauth_call_gets_the_oauth_beta(
    sdk: anthropic.Anthropic, proxy_main: LiveProxy
) -> None:
    """The SDK sends no anthropic-beta of its own; the proxy must add the OAuth beta."""
    assert ask(sdk, "non-streaming") == EXPECTED_TEXT
    assert betas(proxy_main.upstream.only_request()) == [OAUTH_BETA]


def test_sdk_stream_is_relayed_unbuffered(sdk: anthropic.Anthropic, proxy_main: LiveProxy) -> None:
    hold = threading.Event()
    proxy_main.upstream.hold = hold
    try:
        with sdk.messages.create(
            model="claude-haiku-4-5-20251001",
            max_tokens=16,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
        ) as stream:
            events = iter(stream)
            assert next(events).type == "message_start"  # timeout here = the proxy buffered
            hold.set()
            assert [event.type for event in events][-1] == "message_stop"
    finally:
        hold.set()
