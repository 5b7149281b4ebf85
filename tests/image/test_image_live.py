"""A named subset of the live cases, run against the fork's image (`nox -s image`).

The functions are the suites' own (imported, so they cannot drift); conftest.py serves their
fixtures from containers. Together they cover /anthropic, a config pass-through route, the unified
/v1/messages route, where each credential may go (redirects to another host, non-Anthropic
deployments, a fallback, a proxy without a master key) and the real Claude Code CLI through both
routes.
"""

from __future__ import annotations

from tests.behaviour.live_proxy import LiveProxy
from tests.behaviour.test_live_egress import (  # noqa: F401  where each credential may go
    test_a_fallback_to_another_provider_gets_no_anthropic_credential,
    test_anthropic_credentials_reach_only_anthropic,
    test_no_credential_follows_a_redirect_to_another_host,
    test_open_proxy_forwards_a_claude_subscription,
)
from tests.behaviour.test_live_matrix import (  # noqa: F401  /anthropic and a config route
    test_anthropic_401_reaches_the_caller_unchanged,
    test_config_pass_through_route_never_forwards_the_litellm_key_as_authorization,
    test_config_pass_through_route_strips_x_litellm_api_key,
    test_litellm_key_reaches_anthropic_nowhere,
    test_upstream_receives_the_right_credential,
)
from tests.behaviour.test_live_unified_route import (  # noqa: F401  /v1/messages
    test_deployment_receives_the_documented_credential,
    test_litellm_key_in_any_form_reaches_no_upstream,
    test_oauth_token_never_reaches_a_third_party_api_base,
    test_oauth_token_reaches_the_anthropic_base,
)
from tests.claude_code.test_cli_anthropic_route import (  # noqa: F401
    test_claude_code_through_the_anthropic_route,
)
from tests.claude_code.test_cli_unified_route import (  # noqa: F401
    test_claude_code_at_the_proxy_root_sends_its_oauth_token_and_never_the_litellm_key,
)

from .container_proxy import healthcheck


def test_the_image_s_healthcheck_passes(live_proxies: dict[str, LiveProxy]) -> None:
    result = healthcheck(live_proxies["main"])
    assert result.returncode == 0, result.stdout + result.stderr
