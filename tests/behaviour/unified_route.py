"""Set-up for the unified /v1/messages route tests (test_live_unified_route.py).

Two live proxies (forward_llm_provider_auth_headers on and off) route /v1/messages to model_list
deployments on three recording upstreams: the Anthropic API base (ANTHROPIC_API_BASE); a third
party, the api_base of `anthropic/` deployments with and without their own api_key and the runtime
endpoint of a Bedrock deployment; and a gateway the operator lists in
`litellm_settings.anthropic_oauth_allowed_api_bases`. Both boot with every other proxy set
when the session starts (see launcher.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from .constants import MASTER_KEY, claude_code_body, simple_body
from .fake_upstream import FakeAnthropic, RecordedRequest
from .launcher import Boot, ProxySet
from .live_proxy import LiveProxy, ProxySpec, loopback_client

SERVER_KEY = "sk-ant-api03-test-deployment-5e1a9c3f"  # the Anthropic deployment's own key
THIRD_PARTY_KEY = "sk-3p-test-gateway-7c2d4b6e"  # the third-party deployment's own key
GATEWAY_KEY = "sk-gw-test-allowed-9b3e5a1d"  # the allow-listed gateway's own key
AWS_ACCESS_KEY_ID = "AKIATESTFAKE0000TEST"

ANTHROPIC = "claude-anthropic"  # anthropic/ on the default Anthropic base, with a key
ANTHROPIC_NO_KEY = "claude-anthropic-no-key"  # anthropic/ on the default base, no key at all
THIRD_PARTY = "claude-third-party"  # anthropic/ with its own api_base and api_key
THIRD_PARTY_NO_KEY = "claude-third-party-no-key"  # anthropic/ with its own api_base, no key
GATEWAY = "claude-allowed-gateway"  # like THIRD_PARTY, but the operator allows OAuth there
BEDROCK = "claude-bedrock"  # bedrock/ invoke, its runtime endpoint on the third party
MODEL = "claude-haiku-4-5-20251001"
LITELLM_LOGIN = ("x-litellm-api-key", f"Bearer {MASTER_KEY}")
MESSAGES = "/v1/messages"


@dataclass
class UnifiedProxies:
    byok: LiveProxy  # forward_llm_provider_auth_headers: true
    no_byok: LiveProxy  # forward_llm_provider_auth_headers: false
    anthropic: FakeAnthropic
    third_party: FakeAnthropic
    gateway: FakeAnthropic

    def reset(self) -> None:
        for fake in (self.anthropic, self.third_party, self.gateway):
            fake.reset()

    def upstream_of(self, deployment: str) -> FakeAnthropic:
        elsewhere = {THIRD_PARTY: self.third_party, THIRD_PARTY_NO_KEY: self.third_party}
        return {**elsewhere, BEDROCK: self.third_party, GATEWAY: self.gateway}.get(
            deployment, self.anthropic
        )

    def everything_received(self) -> list[RecordedRequest]:
        return [*self.anthropic.requests, *self.third_party.requests, *self.gateway.requests]


def _model_list(third_party: FakeAnthropic, gateway: FakeAnthropic) -> list[dict[str, object]]:
    def deployment(name: str, **params: str) -> dict[str, object]:
        return {"model_name": name, "litellm_params": {"model": f"anthropic/{MODEL}", **params}}

    return [
        deployment(ANTHROPIC, api_key=SERVER_KEY),
        deployment(ANTHROPIC_NO_KEY),
        deployment(THIRD_PARTY, api_base=third_party.url, api_key=THIRD_PARTY_KEY),
        deployment(THIRD_PARTY_NO_KEY, api_base=third_party.url),
        deployment(GATEWAY, api_base=gateway.url, api_key=GATEWAY_KEY),
        {
            "model_name": BEDROCK,
            "litellm_params": {
                "model": "bedrock/invoke/anthropic.claude-3-5-haiku-20241022-v1:0",
                "aws_bedrock_runtime_endpoint": third_party.url,
                "aws_access_key_id": AWS_ACCESS_KEY_ID,
                "aws_secret_access_key": "test-aws-secret-not-real",
                "aws_region_name": "us-east-1",
            },
        },
    ]


def _spec(name: str, byok: bool, model_list: list[dict[str, object]], gateway: str) -> ProxySpec:
    settings = {
        "forward_client_headers_to_llm_api": True,
        "forward_llm_provider_auth_headers": byok,
    }
    return ProxySpec(
        name,
        MASTER_KEY,
        None,
        model_list=model_list,
        general_settings=settings,
        litellm_settings={"anthropic_oauth_allowed_api_bases": [gateway]},
    )


def _boot(boot: Boot) -> UnifiedProxies:
    anthropic, third_party, gateway = boot.fake(), boot.fake(), boot.fake()
    model_list = _model_list(third_party, gateway)
    byok, no_byok = (
        boot.proxy(_spec(name, on, model_list, gateway.url), anthropic)
        for name, on in (("unified", True), ("unified_no_byok", False))
    )
    return UnifiedProxies(byok, no_byok, anthropic, third_party, gateway)


UNIFIED = ProxySet("unified", _boot, timeout_s=600)  # generous: a busy machine
unified = UNIFIED.fixture()


def send(
    proxy: LiveProxy, deployment: str, headers: Iterable[tuple[str, str]], stream: bool = False
) -> httpx.Response:
    body = {**(claude_code_body if stream else simple_body)(), "model": deployment}
    with loopback_client(proxy.url, 30.0) as client:
        return client.post(f"{MESSAGES}?beta=true", headers=list(headers), json=body)
