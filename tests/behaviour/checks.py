"""Assertions on what the upstream received, shared by the in-process and live layers."""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable, Iterator
from urllib.parse import unquote_plus

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
    """At least one request went upstream, and none carries the secret (see assert_key_nowhere)."""
    requests = list(requests)
    assert requests, "no upstream request was recorded"
    assert_key_nowhere(requests, secret)


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")
_WHITESPACE = re.compile(r"\s+")


def _readings(text: str, shortest: int = 0) -> Iterator[str]:
    """`text` as sent, percent-decoded up to three times (a query value arrives encoded once
    more), and what each base64 run in any of those decodes to. A run that decodes to fewer
    than `shortest` bytes (n base64 characters hold at most 3n/4) is not decoded."""
    decoded = [text]
    for _ in range(3):
        decoded.append(unquote_plus(decoded[-1]))
    for reading in dict.fromkeys(decoded):
        yield reading
        for run in _BASE64_RUN.findall(reading):
            body = run.rstrip("=")
            for start in range(4):
                if (len(body) - start) * 3 // 4 < shortest:
                    break
                chunk = body[start:] + "=" * (-len(body[start:]) % 4)
                for altchars in (None, b"-_"):
                    try:
                        yield base64.b64decode(chunk, altchars=altchars).decode("latin-1")
                    except ValueError:
                        continue


@functools.lru_cache(maxsize=1 << 16)
def carries(text: str, secret: str) -> bool:
    """The test's own reading of "carries the key": any casing or whitespace, decoded or not.

    Cached: a logging record repeats the same values many times over, and the answer is a pure
    function of the two strings. Readings shorter than the secret cannot hold it, so they are
    skipped (removing whitespace only shortens a reading)."""
    needle = secret.lower()
    readings = _readings(text, shortest=len(needle))
    return any(needle in _WHITESPACE.sub("", reading).lower() for reading in readings)


def assert_key_nowhere(requests: Iterable[RecordedRequest], secret: str) -> None:
    """No header, path, query or body of any request carries `secret`, decoded or not.
    Zero requests pass: a request the proxy rejected leaked nothing."""
    for request in requests:
        for name, value in request.headers:
            assert not carries(value, secret), f"secret forwarded in header {name!r}: {value!r}"
        assert not carries(f"{request.path}?{request.raw_query}", secret), "secret in the URL"
        assert not carries(request.body.decode("latin-1"), secret), "secret in the body"


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
