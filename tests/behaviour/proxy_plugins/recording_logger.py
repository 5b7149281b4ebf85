"""A logging callback for the proxy under test that records everything it is handed.

Loaded by the proxy itself (this directory is on its PYTHONPATH; config
`litellm_settings.callbacks: ["recording_logger.recorder"]`), never imported by the tests. Every
hook appends one JSON line to RECORD_FILE in the proxy's working directory: the hook's name and
all its arguments, serialised as a callback that ships them to Langfuse, S3 or OTEL would:
mappings and sequences recursively, every other object as its repr. (The key cache handle
`async_pre_call_hook` gets is the proxy's own state, not call data, and is not recorded.)
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

RECORD_FILE = Path("callback_records.jsonl")  # relative: the proxy runs in its workdir
MAX_DEPTH = 12
_LEAVES = (str, int, float, bool, type(None))
_lock = threading.Lock()


def plain(value: Any, depth: int = 0) -> Any:
    """`value` as JSON data: mappings and sequences recursively (as `json.dumps` walks them,
    dict subclasses included), anything else as its repr (`default=repr`)."""
    if isinstance(value, _LEAVES):
        return value
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if depth >= MAX_DEPTH:
        return _safe_repr(value)
    if isinstance(value, Mapping):
        return {str(plain(k, depth + 1)): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(item, depth + 1) for item in value]
    return _safe_repr(value)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as error:
        return f"<unrepresentable {type(value).__name__}: {error!r}>"


def record(hook: str, **arguments: Any) -> None:
    """Append one line; a failure to record is recorded too, never raised into the proxy."""
    try:
        line = json.dumps({"hook": hook, "arguments": plain(arguments)}, default=repr)
    except Exception as error:
        line = json.dumps({"hook": hook, "arguments": {}, "record_error": repr(error)})
    with _lock, RECORD_FILE.open("a") as out:
        out.write(line + "\n")


class RecordingLogger(CustomLogger):
    """Every logging callback and proxy hook LiteLLM calls, recorded; nothing changed."""

    def log_pre_api_call(self, model, messages, kwargs):
        record("log_pre_api_call", model=model, messages=messages, kwargs=kwargs)

    def log_post_api_call(self, kwargs, response_obj, start_time, end_time):
        record("log_post_api_call", kwargs=kwargs, response_obj=response_obj)

    def log_stream_event(self, kwargs, response_obj, start_time, end_time):
        record("log_stream_event", kwargs=kwargs, response_obj=response_obj)

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        record("log_success_event", kwargs=kwargs, response_obj=response_obj)

    def log_failure_event(self, kwargs, response_obj, start_time, end_time):
        record("log_failure_event", kwargs=kwargs, response_obj=response_obj)

    async def async_log_pre_api_call(self, model, messages, kwargs):
        record("async_log_pre_api_call", model=model, messages=messages, kwargs=kwargs)

    async def async_log_stream_event(self, kwargs, response_obj, start_time, end_time):
        record("async_log_stream_event", kwargs=kwargs, response_obj=response_obj)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        record("async_log_success_event", kwargs=kwargs, response_obj=response_obj)

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
        record("async_log_failure_event", kwargs=kwargs, response_obj=response_obj)

    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        record(
            "async_pre_call_hook",
            user_api_key_dict=user_api_key_dict,
            data=data,
            call_type=call_type,
        )

    async def async_moderation_hook(self, data, user_api_key_dict, call_type):
        record("async_moderation_hook", data=data, user_api_key_dict=user_api_key_dict)

    async def async_post_call_success_hook(self, data, user_api_key_dict, response):
        record(
            "async_post_call_success_hook",
            data=data,
            user_api_key_dict=user_api_key_dict,
            response=response,
        )

    async def async_post_call_failure_hook(
        self, request_data, original_exception, user_api_key_dict, traceback_str=None
    ):
        record(
            "async_post_call_failure_hook",
            request_data=request_data,
            original_exception=original_exception,
            user_api_key_dict=user_api_key_dict,
            traceback_str=traceback_str,
        )

    async def async_post_call_streaming_hook(self, user_api_key_dict, response):
        record(
            "async_post_call_streaming_hook", user_api_key_dict=user_api_key_dict, response=response
        )

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict, response, request_data
    ) -> AsyncIterator[Any]:
        record(
            "async_post_call_streaming_iterator_hook",
            user_api_key_dict=user_api_key_dict,
            request_data=request_data,
        )
        async for item in response:
            yield item


recorder = RecordingLogger()
