"""Run the real LiteLLM proxy (the one installed for this interpreter) on a loopback port."""

from __future__ import annotations

import functools
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .fake_upstream import FakeAnthropic
from .proxy_launch import ProxyProcess, fork_server, launch, share_fork_server, spawning

# LiteLLM takes seconds of CPU to boot; a loaded machine may stretch that (override in seconds)
STARTUP_TIMEOUT_S = float(os.environ.get("FORKKIT_PROXY_STARTUP_S", "120"))
STOP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 40
_LOOPBACK = ["--host", "127.0.0.1"]
# Inherited variables that would change how the proxy authenticates or where it sends requests.
_SCRUBBED_ENV_PREFIXES = ("ANTHROPIC_", "COHERE_", "LITELLM_", "DATABASE_URL", "STORE_MODEL_IN_DB")
# A second provider route (/cohere) points at the same recording upstream, with this fake key.
COHERE_SERVER_KEY = "test-cohere-server-key-5e9a1c"
# 127.0.0.2 stands in for "another host" (a redirect target) in the egress tests.
_LOOPBACK_HOSTS = "127.0.0.1,127.0.0.2,localhost"


# A config route with an operator-configured header that carries the master key.
OPERATOR_ROUTE = "/operator-upstream"
OPERATOR_HEADER = "x-downstream-key"


@dataclass
class ProxySpec:
    """One proxy configuration; the fields map to config.yaml and the environment."""

    name: str
    master_key: str | None
    server_key: str | None
    config_route: str | None = None  # path of a config pass_through_endpoints route
    model_list: list[dict[str, Any]] = field(default_factory=list)
    general_settings: dict[str, Any] = field(default_factory=dict)  # added to the generated ones
    key_header_name: str | None = None  # general_settings.litellm_key_header_name
    litellm_settings: dict[str, Any] = field(default_factory=dict)
    router_settings: dict[str, Any] = field(default_factory=dict)  # e.g. fallbacks
    extra_env: dict[str, str] = field(default_factory=dict)  # set last, e.g. PYTHONPATH
    extra_args: list[str] = field(default_factory=list)  # appended to the proxy's command line


@dataclass
class LiveProxy:
    spec: ProxySpec
    upstream: FakeAnthropic
    port: int
    log_path: Path
    process: ProxyProcess | None = None
    _log_file: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "<no log>"
        return "\n".join(lines[-LOG_TAIL_LINES:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config_for(spec: ProxySpec, upstream: FakeAnthropic) -> dict[str, Any]:
    general: dict[str, Any] = {}
    if spec.master_key:
        general["master_key"] = spec.master_key
    else:  # newer LiteLLM refuses to start open unless told so; older ones ignore the key
        general["dangerously_permit_weak_or_unset_master_key"] = True
    if spec.config_route:
        general["pass_through_endpoints"] = [
            {
                "path": spec.config_route,
                "target": f"{upstream.url}{spec.config_route}",
                "forward_headers": True,  # auth on such routes is Enterprise-only
            },
            {  # a route whose operator sends the master key on, e.g. to a second proxy
                "path": OPERATOR_ROUTE,
                "target": f"{upstream.url}{OPERATOR_ROUTE}",
                "headers": {OPERATOR_HEADER: spec.master_key or ""},
                "forward_headers": True,
            },
        ]
    if spec.key_header_name:
        general["litellm_key_header_name"] = spec.key_header_name
    general.update(spec.general_settings)
    config: dict[str, Any] = {
        "model_list": spec.model_list,
        "general_settings": general,
        "litellm_settings": spec.litellm_settings,
    }
    if spec.router_settings:
        config["router_settings"] = spec.router_settings
    return config


def base_env() -> dict[str, str]:
    """The environment every proxy shares (what the fork server imports LiteLLM with)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_ENV_PREFIXES)}
    env.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        NO_PROXY=_LOOPBACK_HOSTS,
        no_proxy=_LOOPBACK_HOSTS,
        PYTHONUNBUFFERED="1",
    )
    return env


def proxy_env(spec: ProxySpec, upstream: FakeAnthropic) -> dict[str, str]:
    env = base_env()
    env.update(
        ANTHROPIC_API_BASE=upstream.url,
        COHERE_API_BASE=upstream.url,
        COHERE_API_KEY=COHERE_SERVER_KEY,
    )
    if spec.server_key:
        env["ANTHROPIC_API_KEY"] = spec.server_key
    env.update(spec.extra_env)
    return env


def prepare(python: str = sys.executable, shared: bool = False) -> None:
    """Start importing `python`'s LiteLLM now, so the proxies launched later fork at once.

    shared: for the processes this one starts, too (proxy_launch.share_fork_server).
    """
    if spawning():
        return
    if shared:
        share_fork_server(python, base_env())
    else:
        fork_server(python, base_env())


def start_proxy(
    spec: ProxySpec, upstream: FakeAnthropic, workdir: Path, python: str = sys.executable
) -> LiveProxy:
    """Launch the proxy with `python`'s LiteLLM, without waiting (see :func:`wait_until_ready`).

    The proxy is forked from the interpreter's fork server (tests/behaviour/proxy_launch.py),
    which imports LiteLLM once for every proxy it starts.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.yaml"
    # JSON is valid YAML: no YAML writer needed.
    config_path.write_text(json.dumps(config_for(spec, upstream), indent=2))
    proxy = LiveProxy(
        spec=spec, upstream=upstream, port=free_port(), log_path=workdir / "proxy.log"
    )
    proxy._log_file = proxy.log_path.open("wb")
    argv = ["--config", str(config_path), *_LOOPBACK, "--port", str(proxy.port), *spec.extra_args]
    proxy.process = launch(python, argv, proxy_env(spec, upstream), base_env(), proxy._log_file)
    return proxy


def wait_until_ready(proxies: list[LiveProxy], timeout_s: float = STARTUP_TIMEOUT_S) -> None:
    """Poll every proxy's liveliness endpoint until all answer, or fail with the log tail."""
    deadline = time.monotonic() + timeout_s
    pending = list(proxies)
    while pending:
        for proxy in list(pending):
            _check_alive(proxy)
            if _is_live(proxy):
                pending.remove(proxy)
        if pending and time.monotonic() > deadline:
            proxy = pending[0]
            raise RuntimeError(
                f"proxy {proxy.spec.name!r} not live on {proxy.url} after {timeout_s:.0f}s;"
                f" log tail:\n{proxy.log_tail()}"
            )
        if pending:
            time.sleep(0.25)


def _check_alive(proxy: LiveProxy) -> None:
    assert proxy.process is not None
    code = proxy.process.poll()
    if code is not None:
        raise RuntimeError(
            f"proxy {proxy.spec.name!r} exited with code {code}; log tail:\n{proxy.log_tail()}"
        )


def _is_live(proxy: LiveProxy) -> bool:
    try:
        with loopback_client(proxy.url, timeout=1.0) as client:
            response = client.get("/health/liveliness")
    except httpx.HTTPError:
        return False
    return response.status_code == 200


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def loopback_client(base_url: str, timeout: float | httpx.Timeout = 30.0) -> httpx.Client:
    """A new client for a proxy on loopback, ignoring proxy settings in the environment.

    Every client shares one TLS context, though none is used (the proxies speak plain HTTP):
    httpx would otherwise load the CA bundle for each, ~25 ms of CPU a client.
    """
    return httpx.Client(base_url=base_url, timeout=timeout, trust_env=False, verify=_tls_context())


def loopback_async_client(base_url: str, timeout: float = 30.0) -> httpx.AsyncClient:
    """loopback_client's async twin."""
    return httpx.AsyncClient(
        base_url=base_url, timeout=timeout, trust_env=False, verify=_tls_context()
    )


def stop_proxies(proxies: list[LiveProxy]) -> None:
    """Ask every proxy to stop at once, then wait (kill after a bounded wait)."""
    running = [p for p in proxies if p.process is not None and p.process.poll() is None]
    for proxy in running:
        assert proxy.process is not None
        proxy.process.terminate()
    for proxy in running:
        assert proxy.process is not None
        try:
            proxy.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proxy.process.kill()
            proxy.process.wait(timeout=STOP_TIMEOUT_S)
    for proxy in proxies:
        if proxy._log_file is not None:
            proxy._log_file.close()
