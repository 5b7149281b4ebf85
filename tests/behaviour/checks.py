"""Assertions on what the upstream received, shared by the in-process and live layers."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

import httpx

from .fake_upstream import RecordedRequest


def from_httpx(request: httpx.Request) -> RecordedRequest:
    """A request captured by respx, in the fake upstream's record format."""
    return RecordedRequest(
        method=request.method,
        path=request.url.path,
        query=list(request.url.params.multi_items()),
        raw_query=request.url.query.decode(),
        headers=[(k.decode(), v.decode()) for k, v in request.headers.raw],
        body=request.content,
    )


def assert_secret_nowhere(requests: Iterable[RecordedRequest], secret: str) -> None:
    """The secret is in no header value (any header name), query or body of any request."""
    requests = list(requests)
    assert requests, "no upstream request was recorded"
    for request in requests:
        for name, value in request.headers:
            assert secret not in value, f"secret forwarded upstream in header {name!r}"
        assert secret not in unquote(request.raw_query), "secret forwarded in the query"
        assert secret.encode() not in request.body, "secret forwarded in the body"


def _squashed(text: str) -> str:
    """Lower-cased, without whitespace, percent-decoding undone: how a key hides in plain sight."""
    decoded = text
    for _ in range(3):
        decoded = unquote(decoded.replace("+", " "))
    return "".join(decoded.split()).lower()


def assert_key_nowhere(requests: Iterable[RecordedRequest], needles: Iterable[str]) -> None:
    """No needle (the key, or an encoding of it) in any request's path, query or header value,
    in any casing, whitespace or percent-encoding. Zero requests pass: a rejection leaks nothing."""
    wanted = [_squashed(needle) for needle in needles]
    for request in requests:
        places = [("path", request.path), ("query", request.raw_query), *request.headers]
        for name, value in places:
            for needle in wanted:
                assert needle not in _squashed(value), f"key forwarded upstream in {name!r}"


def assert_credentials(
    request: RecordedRequest, x_api_key: str | None, authorization: str | None
) -> None:
    """Exactly these credential headers arrived (None = the header is absent)."""
    assert request.header_values("x-api-key") == ([x_api_key] if x_api_key else []), (
        f"x-api-key upstream: {request.header_values('x-api-key')!r}"
    )
    assert request.header_values("authorization") == ([authorization] if authorization else []), (
        f"authorization upstream: {request.header_values('authorization')!r}"
    )


def assert_no_none_string(request: RecordedRequest) -> None:
    for name, value in request.headers:
        assert value.strip() != "None", f"header {name!r} carries the string 'None'"


def betas(request: RecordedRequest) -> list[str]:
    value = request.header("anthropic-beta") or ""
    return [beta.strip() for beta in value.split(",") if beta.strip()]
