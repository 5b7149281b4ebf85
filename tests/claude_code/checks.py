"""What must hold for every CLI run through the proxy, compared with the CLI's own request."""

from __future__ import annotations

from tests.behaviour.checks import assert_secret_nowhere
from tests.behaviour.constants import MASTER_KEY
from tests.behaviour.fake_upstream import MESSAGE, RecordedRequest

# Set per hop, or the credentials each case checks on its own.
NOT_COMPARED = {
    "host",
    "content-length",
    "connection",
    "accept-encoding",
    "transfer-encoding",
    "authorization",
    "x-api-key",
    "x-litellm-api-key",
}
# The CLI identifies itself with these; a proxy that drops or rewrites them breaks Claude Code.
IDENTITY_HEADERS = ("x-app", "user-agent", "anthropic-beta", "anthropic-version")
ANSWER = MESSAGE["content"][0]["text"]


def cli_headers(request: RecordedRequest) -> dict[str, list[str]]:
    names = {name.lower() for name, _ in request.headers} - NOT_COMPARED
    return {name: request.header_values(name) for name in sorted(names)}


def assert_arrived_intact(sent: RecordedRequest, received: list[RecordedRequest]) -> None:
    """Every upstream request: no LiteLLM key anywhere, the CLI's headers and body unchanged."""
    assert_secret_nowhere(received, MASTER_KEY)
    for name in IDENTITY_HEADERS:
        assert sent.header_values(name), f"the CLI sent no {name!r}: the comparison is void"
    assert sent.json().get("stream") is True, "the CLI asked for no stream: the case is void"
    for got in received:
        assert got.path == sent.path and got.raw_query == sent.raw_query, (got.path, sent.path)
        assert cli_headers(got) == cli_headers(sent)
        assert got.json()["metadata"]["user_id"] == sent.json()["metadata"]["user_id"]
        got_body, sent_body = got.json(), sent.json()
        changed = sorted(k for k in {*got_body, *sent_body} if got_body.get(k) != sent_body.get(k))
        assert not changed, f"the proxy changed the request body's {', '.join(changed)}"
