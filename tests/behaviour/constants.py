"""Fake secrets, the Claude Code request and the patch stems the tests refer to."""

from __future__ import annotations

from typing import Any

# Obviously fake secrets. Every one is unique, so "appears nowhere" checks are meaningful.
MASTER_KEY = "sk-litellm-test-master-4f1c9e2a7b"
SERVER_KEY = "sk-ant-api03-test-server-8d2e6f1a"
CLIENT_KEY = "sk-ant-api03-test-client-3b7c5d9e"
OAUTH_TOKEN = "sk-ant-oat01-test-oauth-6a4f2c8d"

OAUTH_BETA = "oauth-2025-04-20"
OTHER_BETA = "fine-grained-tool-streaming-2025-05-14"

# Patch stems (file names in patches/series without ".patch"; check-patches verifies them).
P0001_X_LITELLM_API_KEY = "passthrough-never-forward-x-litellm-api-key-upstream"
P0002_CALLER_LITELLM_KEY = "pass-through-never-forward-the-caller-s-litellm-key"
P0003_CLIENT_CREDENTIALS = "anthropic-passthrough-forward-client-credentials"
P0004_OAUTH_BETA = "anthropic-passthrough-send-the-oauth-beta-header"
P_UNIFIED_KEY = "unified-route-never-forward-the-caller-s-litellm-key"
P_OAUTH_SCOPE = "unified-route-send-oauth-tokens-only-to-anthropic"
P_EGRESS = "egress-send-credentials-only-where-they-belong"
P_OPEN_PROXY = "open-proxy-forward-a-client-s-subscription-token"
P_LOGGING = "logging-mask-the-caller-s-key-and-oauth-tokens"

MESSAGES_PATH = "/anthropic/v1/messages"
CLAUDE_CODE_QUERY = "beta=true"
CLAUDE_CODE_USER_ID = (
    "user_5f0c7e0d9b2a_account_0b8e3c1a-5d7f-4e2a-9c6b-1f2e3d4c5b6a"
    "_session_7e6d5c4b-3a2f-4e1d-8c9b-0a1b2c3d4e5f"
)


def claude_code_headers(authorization: str = f"Bearer {OAUTH_TOKEN}") -> list[tuple[str, str]]:
    """The header set Claude Code sends with an OAuth subscription, names in its casing."""
    return [
        ("connection", "keep-alive"),
        ("Accept", "application/json"),
        ("X-Stainless-Retry-Count", "0"),
        ("X-Stainless-Timeout", "60"),
        ("X-Stainless-Lang", "js"),
        ("X-Stainless-Package-Version", "0.55.1"),
        ("X-Stainless-OS", "Linux"),
        ("X-Stainless-Arch", "x64"),
        ("X-Stainless-Runtime", "node"),
        ("X-Stainless-Runtime-Version", "v24.4.1"),
        ("anthropic-dangerous-direct-browser-access", "true"),
        ("anthropic-version", "2023-06-01"),
        ("authorization", authorization),
        ("x-app", "cli"),
        ("User-Agent", "claude-cli/1.0.62 (external, cli)"),
        ("content-type", "application/json"),
        ("anthropic-beta", f"{OAUTH_BETA},{OTHER_BETA}"),
        ("x-stainless-helper-method", "stream"),
        ("accept-language", "*"),
        ("sec-fetch-mode", "cors"),
        ("accept-encoding", "br, gzip, deflate"),
    ]


def claude_code_body(stream: bool = True) -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5-20251001",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": "hi claude"}],
        "system": [
            {
                "type": "text",
                "text": "Analyze if this message indicates a new conversation topic.",
            }
        ],
        "temperature": 0,
        "metadata": {"user_id": CLAUDE_CODE_USER_ID},
        "stream": stream,
    }


def simple_body(stream: bool = False) -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5-20251001",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": stream,
    }


def mixed_case(name: str) -> str:
    """'x-litellm-api-key' -> 'X-lItElLm-ApI-kEy': a casing no client library normalises to."""
    return "".join(c.upper() if i % 2 == 0 else c.lower() for i, c in enumerate(name))


def with_casing(headers: list[tuple[str, str]], casing: str) -> list[tuple[str, str]]:
    if casing == "as-sent":
        return list(headers)
    if casing == "mixed":
        return [(mixed_case(k), v) for k, v in headers]
    raise ValueError(casing)


# Release windows [first, until) in which unpatched upstream gets a row right by itself, for
# fixed_by(..., upstream_ok=...); the negative control expects those rows to pass there. A bound
# is the first release checked, not bisected.
# 1.84.0 sends no credential header (never "None") when no server key is configured ...
UPSTREAM_OMITS_MISSING_SERVER_KEY = ("1.84.0", None)
# ... but from 1.106.2 it answers such a request with its own 401 instead of Anthropic's.
UPSTREAM_LETS_ANTHROPIC_ANSWER_401 = ("1.84.0", "1.106.2")
# 1.106.2 strips the secret that authenticated the caller on the /anthropic route (not on
# generic pass-through routes) ...
UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC = ("1.106.2", None)
# ... and from then on lets a configured server key replace the client's own OAuth token.
UPSTREAM_KEEPS_CLIENT_AUTHORIZATION = (None, "1.106.2")
# metadata.user_id: from 1.109.0 upstream forwards it to Anthropic-bound Messages URLs by
# itself (_anthropic_user_id_to_forward), more carefully than the series did, so the series
# dropped its patch on 1.110.2; the tests that prove it reaches Anthropic stay, unmarked.

# The server-sent events of one streamed Anthropic message, in order (as the fake upstream sends).
ALL_EVENTS = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
]
