"""Unit layer: what the pass-through keeps of the caller's ``metadata`` in the forwarded body."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from starlette.requests import Request

from .constants import CLAUDE_CODE_USER_ID, P0005_METADATA_USER_ID, claude_code_body


def _request() -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/anthropic/v1/messages",
        "raw_path": b"/anthropic/v1/messages",
        "query_string": b"beta=true",
        "headers": [(b"content-type", b"application/json")],
        "scheme": "http",
        "server": ("127.0.0.1", 4000),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
    }
    return Request(scope)


def prepare(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the pass-through's body preparation; return (forwarded body, logging metadata)."""
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.proxy.pass_through_endpoints.pass_through_endpoints import (
        HttpPassThroughEndpointHelpers,
    )

    kwargs = HttpPassThroughEndpointHelpers._init_kwargs_for_pass_through_endpoint(
        request=_request(),
        user_api_key_dict=UserAPIKeyAuth(),
        passthrough_logging_payload={},  # type: ignore[arg-type]
        logging_obj=SimpleNamespace(model_call_details={}),  # type: ignore[arg-type]
        _parsed_body=body,
        litellm_call_id="test-call",
    )
    return body, kwargs["litellm_params"]["metadata"]


@pytest.mark.fixed_by(P0005_METADATA_USER_ID)
def test_metadata_user_id_stays_in_the_forwarded_body() -> None:
    forwarded, _ = prepare(claude_code_body())
    assert forwarded["metadata"] == {"user_id": CLAUDE_CODE_USER_ID}
    assert forwarded["messages"] == claude_code_body()["messages"]


def test_litellm_still_logs_the_caller_metadata() -> None:
    _, logged = prepare({**claude_code_body(), "metadata": {"user_id": "u-1", "tags": ["t"]}})
    assert logged["user_id"] == "u-1"
    assert logged["tags"] == ["t"]


def test_litellm_only_metadata_is_not_forwarded() -> None:
    """Anthropic rejects unknown metadata fields: only user_id may reach it."""
    forwarded, _ = prepare({**claude_code_body(), "metadata": {"user_id": "u-1", "tags": ["t"]}})
    assert "tags" not in forwarded.get("metadata", {})
    forwarded, _ = prepare({**claude_code_body(), "metadata": {"tags": ["t"]}})
    assert "metadata" not in forwarded
