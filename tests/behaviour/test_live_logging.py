"""Live layer: what logging callbacks and the proxy's own log receive.

One proxy with a master key, a server key, a deployment with its own key, a config pass-through
route and a custom logging callback (proxy_plugins/recording_logger.py) that writes everything it
is handed to a JSONL file, with the proxy logging at debug level (`--detailed_debug`), booted
LANES times. Each row sends one request to one of them, waits for the callbacks to settle, and
reads what that proxy recorded and logged meanwhile; the proxies take their rows concurrently,
each one row at a time (lanes.py). Neither may carry the caller's LiteLLM key or a client's OAuth
token, in any form the suite's leak oracle reads (`carries`). The deployment's own key may be
there: upstream hands it to custom callbacks in `litellm_params.api_key` (docs/credentials.md,
"What logging receives").
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .checks import carries
from .constants import (
    MASTER_KEY,
    P_LOGGING,
    P_OAUTH_SCOPE,
    SERVER_KEY,
    claude_code_headers,
    simple_body,
)
from .error_upstream import ErrorServer, start_error_server, stop_error_server
from .fake_upstream import FakeAnthropic
from .lanes import in_lanes, selected_params
from .launcher import Boot, ProxySet
from .live_proxy import LiveProxy, ProxySpec, loopback_client

PLUGINS = Path(__file__).parent / "proxy_plugins"
RECORDS = "callback_records.jsonl"  # recording_logger.RECORD_FILE, in the proxy's workdir
DEPLOYMENT_KEY = "sk-ant-api03-test-deployment-logging-2c9e"
MODEL = "claude-logging"  # anthropic/ deployment on the recording fake, with its own key
FAILING = {401: "claude-upstream-401", 500: "claude-upstream-500"}
CONFIG_ROUTE = "/logging-route"
TERMINAL_HOOKS = {
    "async_log_success_event",
    "async_log_failure_event",
    "async_post_call_failure_hook",
}
SETTLE_QUIET_S = 0.4  # no new record for this long after the terminal hook: done
SETTLE_MAX_S = 8.0
LANES = 8  # identical proxies; a row's wait is mostly the quiet period, so lanes overlap it


# --- the proxy -------------------------------------------------------------------------------


def _deployment(name: str, **params: str) -> dict[str, Any]:
    model = "anthropic/claude-haiku-4-5-20251001"
    return {"model_name": name, "litellm_params": {"model": model, **params}}


def _spec(name: str, upstream: FakeAnthropic, failing: dict[int, ErrorServer]) -> ProxySpec:
    model_list = [
        _deployment(MODEL, api_key=DEPLOYMENT_KEY),
        *(
            _deployment(FAILING[status], api_key=DEPLOYMENT_KEY, api_base=server.url)
            for status, server in failing.items()
        ),
    ]
    route = {"path": CONFIG_ROUTE, "target": f"{upstream.url}/v1/messages", "forward_headers": True}
    return ProxySpec(
        name,
        MASTER_KEY,
        SERVER_KEY,
        model_list=model_list,
        general_settings={
            "pass_through_endpoints": [route],
            "forward_client_headers_to_llm_api": True,
            "forward_llm_provider_auth_headers": True,
        },
        litellm_settings={
            "callbacks": ["recording_logger.recorder"],
            "num_retries": 0,
            # the failing upstreams may get a client's OAuth token, so failures log one
            "anthropic_oauth_allowed_api_bases": [server.url for server in failing.values()],
        },
        extra_env={"PYTHONPATH": str(PLUGINS)},
        extra_args=["--detailed_debug"],
    )


@dataclass
class LoggingProxy:
    proxy: LiveProxy
    records_path: Path


def _boot(boot: Boot) -> list[LoggingProxy]:
    upstream = boot.fake()
    failing = {status: start_error_server(status) for status in FAILING}
    for server in failing.values():
        boot.stack.callback(stop_error_server, server)
    lanes = []
    for lane in range(LANES):
        proxy = boot.proxy(_spec(f"logging-{lane}", upstream, failing), upstream)
        lanes.append(LoggingProxy(proxy, proxy.log_path.parent / RECORDS))
    return lanes


LIVE_PROXIES = ProxySet("logging_proxies", _boot, timeout_s=600)  # generous: a busy machine
logging_proxies = LIVE_PROXIES.fixture()


# --- one request, and what logging got meanwhile ----------------------------------------------


@dataclass
class Exchange:
    status: int
    records: list[dict[str, Any]]
    log: list[str]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _settle(path: Path, offset: int) -> None:
    """Wait until the callbacks for the request just sent have run (or the bound passes)."""
    deadline = time.monotonic() + SETTLE_MAX_S
    last_size, quiet_since = _size(path), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        size = _size(path)
        if size != last_size:
            last_size, quiet_since = size, time.monotonic()
            continue
        quiet = time.monotonic() - quiet_since >= SETTLE_QUIET_S
        if quiet and any(f'"hook": "{h}"' in _read_from(path, offset) for h in TERMINAL_HOOKS):
            return


@dataclass(frozen=True)
class Row:
    id: str
    route: str  # a key of ROUTES
    query: str  # "" or "key=<key>"-style, appended to the route's path
    headers: list[tuple[str, str]]
    stream: bool
    model: str = MODEL
    oauth: str | None = None  # the row's own OAuth token, unique so late records cannot mislead
    oauth_header: str | None = None  # where the client sent it

    @property
    def path(self) -> str:
        return f"{ROUTES[self.route]}?{self.query}" if self.query else ROUTES[self.route]


def exchange(logging_proxy: LoggingProxy, row: Row) -> Exchange:
    """Send the row and read what its proxy recorded and logged until the callbacks settled."""
    proxy = logging_proxy.proxy
    records_at, log_at = _size(logging_proxy.records_path), _size(proxy.log_path)
    body = _body(row)
    with loopback_client(proxy.url, 30.0) as client:
        response = client.post(row.path, headers=row.headers, json=body)
    _settle(logging_proxy.records_path, records_at)
    records = [
        json.loads(line)
        for line in _read_from(logging_proxy.records_path, records_at).splitlines()
        if line.strip()
    ]
    log = _read_from(proxy.log_path, log_at).splitlines()
    return Exchange(response.status_code, records, log)


@pytest.fixture(scope="module")
def exchanges(
    logging_proxies: list[LoggingProxy], request: pytest.FixtureRequest
) -> dict[str, Exchange]:
    """Every selected row, sent once (several tests read one exchange)."""
    rows = [row for row in selected_params(request, "row") if isinstance(row, Row)]
    seen = in_lanes(exchange, rows, logging_proxies)
    return {row.id: exchanged for row, exchanged in zip(rows, seen, strict=True)}


def _body(row: Row) -> dict[str, Any]:
    body = {**simple_body(stream=row.stream), "model": row.model}
    if row.route == "chat":
        body.pop("max_tokens")
    return body


def leaks(value: Any, secret: str, where: str = "") -> Iterator[str]:
    """Where in a recorded payload `secret` appears (keys and values, any form `carries` reads)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if carries(key, secret):
                yield f"{where} (a key)"
            yield from leaks(item, secret, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaks(item, secret, f"{where}[{index}]")
    elif isinstance(value, str) and carries(value, secret):
        yield f"{where}: {value[:160]!r}"


def secrets_of(row: Row) -> list[str]:
    return [MASTER_KEY, *([row.oauth] if row.oauth else [])]


# --- the rows ------------------------------------------------------------------------------


def _oauth_token(row_id: str) -> str:
    return "sk-ant-oat01-test-" + hashlib.sha256(row_id.encode()).hexdigest()[:16]


ROUTES = {
    "anthropic": "/anthropic/v1/messages",
    "messages": "/v1/messages",
    "chat": "/v1/chat/completions",
    "config-route": CONFIG_ROUTE,
}
UNIFIED = ("messages", "chat")  # routed to a deployment by LiteLLM's own HTTP client
LOGIN = ("x-litellm-api-key", f"Bearer {MASTER_KEY}")
# Where the caller puts its LiteLLM key: the header it logs in with, or (logged in with
# x-litellm-api-key) the query too, as clients of Google-style APIs do.
LOGINS = {
    "x-litellm-api-key": ([LOGIN], ""),
    "authorization": ([("Authorization", f"Bearer {MASTER_KEY}")], ""),
    "x-api-key": ([("x-api-key", MASTER_KEY)], ""),
    "query-key": ([LOGIN], f"key={MASTER_KEY}"),
    "query-api-key": ([LOGIN], f"api_key={MASTER_KEY}"),
}


def _oauth_headers(token: str, carrier: str) -> list[tuple[str, str]]:
    if carrier == "authorization":
        return [*claude_code_headers(f"Bearer {token}"), LOGIN]
    return [("x-api-key", token), ("anthropic-beta", "oauth-2025-04-20"), LOGIN]


def _rows() -> list[Row]:
    rows = []
    modes = {False: "non-streaming", True: "streaming"}
    for route in ROUTES:
        for stream, mode in modes.items():
            for login, (headers, query) in LOGINS.items():
                rows.append(Row(f"{route}-{mode}-key-in-{login}", route, query, headers, stream))
            for carrier in ("authorization", "x-api-key"):
                row_id = f"{route}-{mode}-oauth-in-{carrier}"
                token = _oauth_token(row_id)
                headers = _oauth_headers(token, carrier)
                rows.append(
                    Row(row_id, route, "", headers, stream, oauth=token, oauth_header=carrier)
                )
    # failure callbacks: the upstream answers 401 or 500; the key is in the query as well
    for status, model in FAILING.items():
        for route in UNIFIED:
            for stream, mode in modes.items():
                row_id = f"{route}-{mode}-upstream-{status}"
                token = _oauth_token(row_id)
                headers = _oauth_headers(token, "authorization")
                query = f"key={MASTER_KEY}"
                rows.append(
                    Row(row_id, route, query, headers, stream, model, token, "authorization")
                )
    return rows


def _oauth_token(row_id: str) -> str:
    return "sk-ant-oat01-test-" + hashlib.sha256(row_id.encode()).hexdigest()[:16]


def _oauth_in_x_api_key_upstream(row: Row) -> list[pytest.MarkDecorator]:
    """Upstream makes an OAuth token in x-api-key the request's api_key, which every callback
    and hook then gets; the series sends it as Authorization instead."""
    if row.oauth_header == "x-api-key" and row.route in UNIFIED:
        return [pytest.mark.fixed_by(P_OAUTH_SCOPE)]
    return []


def _logging_marks(row: Row) -> list[pytest.MarkDecorator]:
    """Upstream hands logging callbacks the URL as sent (?key= included) on every route, and the
    provider request's headers unmasked (an OAuth Authorization) on the unified routes."""
    leaks_upstream = bool(row.query) or (row.oauth is not None and row.route in UNIFIED)
    fixed = [pytest.mark.fixed_by(P_LOGGING)] if leaks_upstream else []
    return fixed + _oauth_in_x_api_key_upstream(row)


def _hook_marks(row: Row) -> list[pytest.MarkDecorator]:
    """Proxy hooks get the URL as sent in the request's data, except on /anthropic."""
    fixed = bool(row.query) and row.route != "anthropic"
    return ([pytest.mark.fixed_by(P_LOGGING)] if fixed else []) + _oauth_in_x_api_key_upstream(row)


ROWS = _rows()


def _params(marks: Callable[[Row], list[pytest.MarkDecorator]]) -> list[Any]:
    return [pytest.param(row, marks=marks(row), id=row.id) for row in ROWS]


def _is_logging_event(hook: str) -> bool:
    """log_pre_api_call, async_log_success_event, ...: what logging integrations ship out."""
    return hook.startswith(("log_", "async_log_"))


# The request itself, as proxy hooks (guardrails, pre-call checks) get it, carries the credentials
# it is sent with in these two fields; upstream keeps them for that (see docs/credentials.md).
REQUEST_CREDENTIAL_FIELDS = (".secret_fields.", ".provider_specific_header[")


def _found(seen: Exchange, row: Row, logging_events: bool) -> list[str]:
    assert seen.records, f"no callback ran (HTTP {seen.status})"
    assert not [r for r in seen.records if "record_error" in r], "the recorder failed"
    found = [
        f"{record['hook']}{where}"
        for secret in secrets_of(row)
        for record in seen.records
        if _is_logging_event(record["hook"]) == logging_events
        for where in leaks(record["arguments"], secret)
    ]
    if logging_events:
        return found
    return [where for where in found if not any(f in where for f in REQUEST_CREDENTIAL_FIELDS)]


@pytest.mark.parametrize("row", _params(_logging_marks))
def test_logging_callbacks_never_receive_the_callers_key_or_oauth_token(
    exchanges: dict[str, Exchange], row: Row
) -> None:
    seen = exchanges[row.id]
    found = _found(seen, row, logging_events=True)
    assert not found, f"HTTP {seen.status}\n" + "\n".join(found[:20])


@pytest.mark.parametrize("row", _params(_hook_marks))
def test_proxy_hooks_get_the_callers_credentials_only_in_the_request_they_send(
    exchanges: dict[str, Exchange], row: Row
) -> None:
    seen = exchanges[row.id]
    found = _found(seen, row, logging_events=False)
    assert not found, f"HTTP {seen.status}\n" + "\n".join(found[:20])


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_the_debug_log_never_shows_the_callers_key_or_oauth_token(
    exchanges: dict[str, Exchange], row: Row
) -> None:
    seen = exchanges[row.id]
    assert seen.log, "the proxy logged nothing at debug level"
    found = [line[:200] for secret in secrets_of(row) for line in seen.log if carries(line, secret)]
    assert not found, f"HTTP {seen.status}\n" + "\n".join(found[:20])
