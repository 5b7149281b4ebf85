"""Set-up for the egress tests (test_live_egress.py): where each credential may go.

Four recording upstreams on loopback: the Anthropic API base (ANTHROPIC_API_BASE), a third-party
Anthropic-format `api_base`, an OpenAI-compatible `api_base`, and `elsewhere` on 127.0.0.2, a
second host that stands in for any other origin (the target of the redirects). Three proxies:

- `guarded`: master key, a server key, `forward_llm_provider_auth_headers` (BYOK) and
  `forward_client_headers_to_llm_api` on, a config pass-through route whose operator header is a
  key of its own, and deployments on every kind of upstream (with a fallback from an Anthropic
  deployment to the OpenAI-compatible one);
- `open` and `open_byok`: no master key, no server key (a personal proxy for a Claude
  subscription, BerriAI/litellm#42170), BYOK off and on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from .constants import CLIENT_KEY, MASTER_KEY, OAUTH_TOKEN, SERVER_KEY, simple_body
from .fake_upstream import FakeAnthropic, RecordedRequest
from .launcher import Boot, ProxySet
from .live_proxy import LiveProxy, ProxySpec, loopback_client

DEPLOYMENT_KEY = "sk-ant-api03-test-egress-deployment-2c9e"  # the Anthropic deployment's key
THIRD_PARTY_KEY = "sk-3p-test-egress-third-party-7f1a"
OPENAI_KEY = "sk-openai-test-egress-deployment-4d8b"
OPERATOR_KEY = "sk-operator-test-egress-route-1e6c"  # a config route's configured header
# Every secret of these tests: none may reach `elsewhere`, in any form.
SECRETS = (
    MASTER_KEY,
    SERVER_KEY,
    CLIENT_KEY,
    OAUTH_TOKEN,
    DEPLOYMENT_KEY,
    THIRD_PARTY_KEY,
    OPENAI_KEY,
    OPERATOR_KEY,
)

CLAUDE = "egress-claude"  # anthropic/ on the Anthropic base, its own key
CLAUDE_SERVER_KEY = "egress-claude-server-key"  # anthropic/ on the Anthropic base, no key
CLAUDE_THIRD_PARTY = "egress-claude-third-party"  # anthropic/ on a third party's api_base
CLAUDE_THIRD_PARTY_NO_KEY = "egress-claude-third-party-no-key"  # the same, without a key
GPT = "egress-gpt"  # openai/ on an OpenAI-compatible api_base
BEDROCK = "egress-bedrock"  # bedrock/ invoke, its runtime endpoint on the third party
CLAUDE_FALLS_BACK = "egress-claude-falls-back"  # anthropic/, falls back to GPT
CLAUDE_RETRIED = "egress-claude-retried"  # anthropic/ with a retry of its own
CONFIG_ROUTE = "/egress-route"
MODEL = "claude-haiku-4-5-20251001"
LOGIN = ("x-litellm-api-key", f"Bearer {MASTER_KEY}")


@dataclass
class Egress:
    guarded: LiveProxy
    open: LiveProxy  # no master key, BYOK off
    open_byok: LiveProxy  # no master key, BYOK on
    anthropic: FakeAnthropic
    third_party: FakeAnthropic
    openai: FakeAnthropic
    elsewhere: FakeAnthropic  # on 127.0.0.2

    @property
    def fakes(self) -> tuple[FakeAnthropic, ...]:
        return (self.anthropic, self.third_party, self.openai, self.elsewhere)

    def reset(self) -> None:
        for fake in self.fakes:
            fake.reset()

    def not_anthropic(self) -> list[RecordedRequest]:
        return [*self.third_party.requests, *self.openai.requests, *self.elsewhere.requests]


def _anthropic(name: str, **params: Any) -> dict[str, Any]:
    return {"model_name": name, "litellm_params": {"model": f"anthropic/{MODEL}", **params}}


def _model_list(third_party: FakeAnthropic, openai: FakeAnthropic) -> list[dict[str, Any]]:
    return [
        _anthropic(CLAUDE, api_key=DEPLOYMENT_KEY),
        _anthropic(CLAUDE_SERVER_KEY),
        _anthropic(CLAUDE_THIRD_PARTY, api_base=third_party.url, api_key=THIRD_PARTY_KEY),
        _anthropic(CLAUDE_THIRD_PARTY_NO_KEY, api_base=third_party.url),
        _anthropic(CLAUDE_FALLS_BACK, api_key=DEPLOYMENT_KEY),
        _anthropic(CLAUDE_RETRIED, api_key=DEPLOYMENT_KEY, num_retries=1),
        {
            "model_name": GPT,
            "litellm_params": {
                "model": "openai/gpt-4o-mini",
                "api_base": f"{openai.url}/v1",
                "api_key": OPENAI_KEY,
            },
        },
        {
            "model_name": BEDROCK,
            "litellm_params": {
                "model": "bedrock/invoke/anthropic.claude-3-5-haiku-20241022-v1:0",
                "aws_bedrock_runtime_endpoint": third_party.url,
                "aws_access_key_id": "AKIATESTFAKE0000EGRS",
                "aws_secret_access_key": "test-aws-secret-not-real",
                "aws_region_name": "us-east-1",
            },
        },
    ]


def _guarded_spec(anthropic: FakeAnthropic, model_list: list[dict[str, Any]]) -> ProxySpec:
    route = {
        "path": CONFIG_ROUTE,
        "target": f"{anthropic.url}{CONFIG_ROUTE}",
        "headers": {"x-api-key": OPERATOR_KEY},
        "forward_headers": True,
        "include_subpath": True,
    }
    settings = {
        "forward_client_headers_to_llm_api": True,
        "forward_llm_provider_auth_headers": True,
        "pass_through_endpoints": [route],
        "dangerously_allow_mock_testing_request_params": True,  # mock_testing_fallbacks
    }
    return ProxySpec(
        "egress_guarded",
        MASTER_KEY,
        SERVER_KEY,
        model_list=model_list,
        general_settings=settings,
        # every row sends a failing request or two: no cooldown may hide a deployment from the next
        # no retries but CLAUDE_RETRIED's own: each costs seconds of backoff
        router_settings={
            "fallbacks": [{CLAUDE_FALLS_BACK: [GPT]}],
            "disable_cooldowns": True,
            "num_retries": 0,
        },
    )


def _open_spec(name: str, byok: bool) -> ProxySpec:
    settings = {
        "forward_client_headers_to_llm_api": True,
        "forward_llm_provider_auth_headers": byok,
    }
    return ProxySpec(name, None, None, model_list=[_anthropic(CLAUDE)], general_settings=settings)


def boot_egress(boot: Boot) -> Egress:
    anthropic, third_party, openai = boot.fake(), boot.fake(), boot.fake()
    elsewhere = boot.fake(host="127.0.0.2")
    specs = [
        _guarded_spec(anthropic, _model_list(third_party, openai)),
        _open_spec("egress_open", byok=False),
        _open_spec("egress_open_byok", byok=True),
    ]
    guarded, open_proxy, open_byok = (boot.proxy(spec, anthropic) for spec in specs)
    return Egress(guarded, open_proxy, open_byok, anthropic, third_party, openai, elsewhere)


EGRESS = ProxySet("egress", boot_egress, timeout_s=600)  # generous: a busy machine
egress = EGRESS.fixture()


def post(
    proxy: LiveProxy,
    path: str,
    headers: Iterable[tuple[str, str]],
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    """One request to the proxy; redirects the proxy returns are not followed."""
    with loopback_client(proxy.url, 60.0) as client:
        return client.post(path, headers=list(headers), json=body or simple_body())


def messages_body(model: str, stream: bool = False, **extra: Any) -> dict[str, Any]:
    return {**simple_body(stream), "model": model, **extra}


def chat_body(model: str, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": "hi"}]
    return {"model": model, "max_tokens": 16, "messages": messages, **extra}
