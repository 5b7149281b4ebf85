"""Unit layer: the egress rule's table, checked on the module the routes and the wire call.

The proof is at the HTTP boundary (test_live_egress.py); these rows pin the table itself, so a
rebase that changes one of its inputs (a setting's name, an origin's port) fails here first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .constants import CLIENT_KEY, MASTER_KEY, OAUTH_TOKEN, P_EGRESS

pytestmark = pytest.mark.fixed_by(P_EGRESS)  # upstream has no such rule

GATEWAY = "https://gateway.example:8443"
ELSEWHERE = "https://elsewhere.example"


def _egress() -> Any:
    from litellm.proxy.auth import credential_egress

    return credential_egress


@pytest.fixture(autouse=True)
def _no_listed_bases(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import litellm

    monkeypatch.delenv("ANTHROPIC_API_BASE", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.setattr(litellm, "anthropic_allowed_api_bases", None, raising=False)
    monkeypatch.setattr(litellm, "anthropic_oauth_allowed_api_bases", None, raising=False)
    yield


def _may_send(value: str, destination: str | None) -> bool:
    egress = _egress()
    return bool(
        egress.may_send(value, destination, operator=egress.NO_OPERATOR_KEYS, secrets=(MASTER_KEY,))
    )


@pytest.mark.parametrize(
    ("value", "destination", "allowed"),
    [
        (f"Bearer {OAUTH_TOKEN}", None, True),
        (f"Bearer {OAUTH_TOKEN}", "https://api.anthropic.com/v1/messages", True),
        (f"Bearer {OAUTH_TOKEN}", "https://api.anthropic.com:444", False),  # another port
        (f"Bearer {OAUTH_TOKEN}", "http://api.anthropic.com", False),  # another scheme
        (f"Bearer {OAUTH_TOKEN}", ELSEWHERE, False),
        (CLIENT_KEY, ELSEWHERE, False),
        (f"BEARER  {CLIENT_KEY}", ELSEWHERE, False),
        (CLIENT_KEY, "https://api.anthropic.com", True),
        (f"Bearer {MASTER_KEY}", "https://api.anthropic.com", False),  # nowhere
        ("sk-openai-test-not-anthropic", ELSEWHERE, True),
    ],
)
def test_the_table(value: str, destination: str | None, allowed: bool) -> None:
    assert _may_send(value, destination) is allowed


@pytest.mark.parametrize(
    "setting", ["anthropic_allowed_api_bases", "anthropic_oauth_allowed_api_bases"]
)
def test_a_listed_base_is_an_anthropic_origin_under_either_name(
    monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    import litellm

    assert not _may_send(CLIENT_KEY, f"{GATEWAY}/v1/messages")
    monkeypatch.setattr(litellm, setting, [GATEWAY])
    assert _may_send(CLIENT_KEY, f"{GATEWAY}/v1/messages")
    assert not _may_send(CLIENT_KEY, "https://gateway.example/v1/messages")  # not its port


def test_anthropic_api_base_is_an_anthropic_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_BASE", "http://127.0.0.1:9999")
    assert _may_send(OAUTH_TOKEN, "http://127.0.0.1:9999/v1/messages")
    assert not _may_send(OAUTH_TOKEN, "http://127.0.0.2:9999/v1/messages")


def test_an_operator_key_goes_only_where_it_was_configured() -> None:
    egress = _egress()
    origin = egress.origin_of(GATEWAY)
    keys = egress.OperatorKeys({"sk-ant-api03-test-operator-gateway": frozenset({origin})}, {})
    value = "sk-ant-api03-test-operator-gateway"
    assert egress.may_send(value, GATEWAY, operator=keys, secrets=())
    assert not egress.may_send(value, ELSEWHERE, operator=keys, secrets=())
    assert not egress.may_send(value, "https://api.anthropic.com", operator=keys, secrets=())


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["sk-ant-oat01-", "sk-ant-api03-", "SK-ANT-api03-"]),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=8, max_size=40),
    st.sampled_from(["", "Bearer ", "bearer  ", "Basic ", "\t"]),
    st.from_regex(r"https?://[a-z]{1,12}\.example(:[0-9]{2,5})?", fullmatch=True),
)
def test_no_anthropic_credential_goes_to_another_origin(
    prefix: str, body: str, scheme: str, destination: str
) -> None:
    assert not _may_send(f"{scheme}{prefix}{body}", destination)
