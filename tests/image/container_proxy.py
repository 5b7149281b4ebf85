"""Run the fork's proxy image instead of a local LiteLLM: the same specs, configs and fakes.

A container gets the config the local launcher would write (mounted at /app/config.yaml, where
operators mount theirs), the variables it would set, and the image's own entrypoint with the
proxy's arguments, on the host's network so it reaches the fakes on loopback. The `podman run`
client is the LiveProxy's process: stopping it stops the container (podman proxies signals), and
`remove_containers` removes any that outlived it.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from tests.behaviour.fake_upstream import FakeAnthropic
from tests.behaviour.live_proxy import LiveProxy, ProxySpec, config_for, free_port, proxy_env

IMAGE_ENV = "FORKKIT_PROXY_IMAGE"
CONFIG_IN_IMAGE = "/app/config.yaml"


def image_ref() -> str | None:
    return os.environ.get(IMAGE_ENV) or None


def container_name(proxy: LiveProxy) -> str:
    return f"forkkit-proxy-{proxy.spec.name.replace('_', '-')}-{proxy.port}"


def start_container_proxy(
    spec: ProxySpec, upstream: FakeAnthropic, workdir: Path, image: str
) -> LiveProxy:
    """Launch the image as the proxy for `spec`, without waiting (see wait_until_ready)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.yaml"
    config_path.write_text(json.dumps(config_for(spec, upstream), indent=2))
    proxy = LiveProxy(
        spec=spec, upstream=upstream, port=free_port(), log_path=workdir / "proxy.log"
    )
    # Only what the local launcher sets or changes: a container inherits nothing else.
    wanted = {k: v for k, v in proxy_env(spec, upstream).items() if os.environ.get(k) != v}
    wanted["PORT"] = str(proxy.port)  # the image's healthcheck probes $PORT
    command = [
        "podman",
        "run",
        "--rm",
        f"--name={container_name(proxy)}",
        "--network=host",
        "--http-proxy=false",
        f"--volume={config_path}:{CONFIG_IN_IMAGE}:ro",
        *(f"--env={name}={value}" for name, value in sorted(wanted.items())),
        image,
        *("--config", CONFIG_IN_IMAGE, "--host", "127.0.0.1", "--port", str(proxy.port)),
    ]
    proxy._log_file = proxy.log_path.open("wb")
    proxy.process = subprocess.Popen(
        command,
        stdout=proxy._log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    return proxy


def remove_containers(proxies: Iterable[LiveProxy]) -> None:
    names = [container_name(proxy) for proxy in proxies]
    if names:
        subprocess.run(
            ["podman", "rm", "--force", "--ignore", "--time=0", *names],
            capture_output=True,
            check=False,
            timeout=120,
        )


def healthcheck(proxy: LiveProxy) -> subprocess.CompletedProcess[str]:
    """The image's own HEALTHCHECK, run once in the proxy's container."""
    return subprocess.run(
        ["podman", "healthcheck", "run", container_name(proxy)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
