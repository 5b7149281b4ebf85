"""Claude Code pointed at the proxy root: /v1/messages routed to a model_list deployment.

The set-up of LiteLLM's Claude Code tutorials: ANTHROPIC_BASE_URL without /anthropic,
ANTHROPIC_MODEL naming a deployment, forward_client_headers_to_llm_api and
forward_llm_provider_auth_headers on. The deployment's api_base is the fake Anthropic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.behaviour.checks import assert_credentials, assert_secret_nowhere, betas
from tests.behaviour.constants import MASTER_KEY, OAUTH_BETA, OAUTH_TOKEN, P_OPEN_PROXY
from tests.behaviour.fake_upstream import FakeAnthropic
from tests.behaviour.live_proxy import LiveProxy

from .checks import ANSWER
from .conftest import UNIFIED_MODEL
from .egress import EgressTrap
from .test_cli_anthropic_route import LITELLM_KEY_HEADER, run_both


def test_claude_code_at_the_proxy_root_sends_its_oauth_token_and_never_the_litellm_key(
    claude_cli: Path,
    cli_proxies: dict[str, LiveProxy],
    direct_upstream: FakeAnthropic,
    tmp_path: Path,
    cli_egress: EgressTrap,
) -> None:
    proxy = cli_proxies["main"]
    credentials = {
        "CLAUDE_CODE_OAUTH_TOKEN": OAUTH_TOKEN,
        "ANTHROPIC_MODEL": UNIFIED_MODEL,
        **LITELLM_KEY_HEADER,
    }
    _, run = run_both(claude_cli, tmp_path, direct_upstream, proxy, "", credentials, cli_egress)
    sent = direct_upstream.only_request()
    received = proxy.upstream.only_request()
    assert_secret_nowhere([received], MASTER_KEY)
    assert_credentials(received, None, f"Bearer {OAUTH_TOKEN}")
    assert received.path == "/v1/messages"
    # This route rebuilds the provider request: it merges the betas (sorted, so compared as a
    # set) and sends LiteLLM's own User-Agent, as upstream does for every provider call.
    assert set(betas(received)) == set(betas(sent)), (betas(sent), betas(received))
    for name in ("x-app", "anthropic-version"):
        assert received.header_values(name) == sent.header_values(name), name
    user_id = sent.json()["metadata"]["user_id"]
    assert received.json()["metadata"]["user_id"] == user_id
    assert received.json()["stream"] is True  # so the answer below came as a stream
    assert run.returncode == 0, run.stderr
    assert ANSWER in run.stdout


@pytest.mark.parametrize(
    "route", [pytest.param("", marks=pytest.mark.fixed_by(P_OPEN_PROXY)), "/anthropic"]
)
def test_claude_code_with_a_subscription_through_a_proxy_without_a_master_key(
    claude_cli: Path,
    cli_proxies: dict[str, LiveProxy],
    direct_upstream: FakeAnthropic,
    tmp_path: Path,
    cli_egress: EgressTrap,
    route: str,
) -> None:
    """Only the OAuth token, as Claude Code with a Claude subscription sends it (#42170)."""
    proxy = cli_proxies["open"]
    credentials = {"CLAUDE_CODE_OAUTH_TOKEN": OAUTH_TOKEN, "ANTHROPIC_MODEL": UNIFIED_MODEL}
    _, run = run_both(claude_cli, tmp_path, direct_upstream, proxy, route, credentials, cli_egress)
    received = proxy.upstream.only_request()
    assert_credentials(received, None, f"Bearer {OAUTH_TOKEN}")
    assert OAUTH_BETA in betas(received)
    assert run.returncode == 0, run.stderr
    assert ANSWER in run.stdout
