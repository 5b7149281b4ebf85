"""Unit layer: the recogniser of the caller's LiteLLM key, property-based, in both directions.

Every wrapping of the key is recognised (a miss leaks the key upstream); no OAuth token or
Anthropic key that does not contain the key is (a false positive strips a real credential).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from .constants import P0002_CALLER_LITELLM_KEY

KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
TEXT_ALPHABET = KEY_ALPHABET + ",=/;:.() "
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

keys = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(["sk-", "sk-litellm-", ""]),
    st.text(KEY_ALPHABET, min_size=16, max_size=48),
)
whitespace = st.text(" \t", min_size=1, max_size=4)
schemes = st.sampled_from(["bearer", "basic", "token"]).flatmap(
    lambda scheme: st.lists(st.booleans(), min_size=len(scheme), max_size=len(scheme)).map(
        lambda upper: "".join(c.upper() if u else c for c, u in zip(scheme, upper, strict=True))
    )
)
separators = st.sampled_from([",", "=", "/", ";", ":", ", ", "; "])
affixes = st.text(TEXT_ALPHABET, max_size=24)


def _guard() -> Any:
    from litellm.proxy.auth import caller_secret_guard

    return caller_secret_guard


@st.composite
def wrapped_keys(draw: st.DrawFn) -> tuple[str, str]:
    key = draw(keys)
    value = key
    for _ in range(draw(st.integers(0, 3))):  # repeated schemes, whitespace runs between
        value = draw(schemes) + draw(whitespace) + value
    value = draw(affixes) + draw(separators) + value + draw(separators) + draw(affixes)
    encoding = draw(st.sampled_from(["plain", "percent", "base64", "base64url", "basic-pair"]))
    if encoding == "percent":
        value = quote(value, safe="")
    elif encoding == "base64":
        value = base64.b64encode(value.encode()).decode()
    elif encoding == "base64url":
        value = base64.urlsafe_b64encode(value.encode()).decode()
    elif encoding == "basic-pair":
        value = "Basic " + base64.b64encode(f"{draw(affixes)}:{key}".encode()).decode()
    padding = draw(whitespace) if draw(st.booleans()) else ""
    return key, padding + value + padding


@pytest.mark.fixed_by(P0002_CALLER_LITELLM_KEY)
@SETTINGS
@given(wrapped=wrapped_keys())
def test_every_wrapping_of_the_key_is_recognised(wrapped: tuple[str, str]) -> None:
    key, value = wrapped
    assert _guard().carries_caller_secret(value, [key]), value


provider_tokens = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(["sk-ant-oat01-", "sk-ant-api03-", "sk-ant-ort01-"]),
    st.text(KEY_ALPHABET, min_size=20, max_size=100),
)


@pytest.mark.fixed_by(P0002_CALLER_LITELLM_KEY)
@SETTINGS
@given(token=provider_tokens, key=keys, scheme=st.sampled_from(["", "Bearer ", "bearer "]))
def test_provider_credentials_without_the_key_are_never_recognised(
    token: str, key: str, scheme: str
) -> None:
    assume(key.lower() not in token.lower())
    assert not _guard().carries_caller_secret(scheme + token, [key])
