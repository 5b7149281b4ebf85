"""The behaviour suite's live fixtures, served by the fork's image instead of a local LiteLLM.

`nox -s image` sets FORKKIT_PROXY_IMAGE to the image it built (and FORKKIT_CLAUDE_CLI when node
and npm are here). Every proxy the selected cases use (the live matrix's four, the unified
route's two, the egress rows' three, the Claude Code cases' three) boots at once, each in its own
container, with the same specs and recording fakes as tests/behaviour and tests/claude_code; the
test functions are theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from tests.behaviour.egress import Egress, boot_egress
from tests.behaviour.fake_upstream import FakeAnthropic, start_fake_anthropic, stop_fake_anthropic
from tests.behaviour.live_fixtures import SPECS as LIVE_SPECS
from tests.behaviour.live_fixtures import (  # noqa: F401
    proxy_main,
    proxy_no_server_key,
    proxy_open,
    proxy_open_no_server_key,
)
from tests.behaviour.live_proxy import LiveProxy, ProxySpec, stop_proxies, wait_until_ready
from tests.behaviour.unified_route import UnifiedProxies, _model_list, _spec
from tests.claude_code.cli import cli_path
from tests.claude_code.conftest import SPECS as CLI_SPECS
from tests.claude_code.conftest import (  # noqa: F401
    claude_cli,
    cli_egress,
    direct_upstream,
)

from .container_proxy import IMAGE_ENV, image_ref, remove_containers, start_container_proxy

# A dozen LiteLLM boots at once on a small machine: leave room.
STARTUP_TIMEOUT_S = 600.0


@dataclass
class Containers:
    live: dict[str, LiveProxy]
    unified: UnifiedProxies
    cli: dict[str, LiveProxy]
    egress: Egress


@dataclass
class ContainerBoot:
    """What an egress-style boot function needs (launcher.Boot's fake and proxy), in containers."""

    fake: Callable[..., FakeAnthropic]
    launch: Callable[[ProxySpec, FakeAnthropic, str], LiveProxy]

    def proxy(self, spec: ProxySpec, upstream: FakeAnthropic) -> LiveProxy:
        return self.launch(spec, upstream, spec.name)


@pytest.fixture(scope="session")
def image() -> str:
    ref = image_ref()
    if ref is None:
        pytest.skip(f"{IMAGE_ENV} is not set; `nox -s image` builds the image and sets it")
    return ref


@pytest.fixture(scope="session")
def containers(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Containers]:
    root = tmp_path_factory.mktemp("containers")
    with ExitStack() as stack:
        started: list[LiveProxy] = []
        stack.callback(remove_containers, started)
        stack.callback(stop_proxies, started)

        def fake(**options: Any) -> FakeAnthropic:
            upstream = start_fake_anthropic(**options)
            stack.callback(stop_fake_anthropic, upstream)
            return upstream

        def launch(spec: ProxySpec, upstream: FakeAnthropic, folder: str) -> LiveProxy:
            proxy = start_container_proxy(spec, upstream, root / folder, image)
            started.append(proxy)
            return proxy

        live = {name: launch(spec, fake(), f"live-{name}") for name, spec in LIVE_SPECS.items()}
        anthropic, third_party, gateway = fake(), fake(), fake()
        model_list = _model_list(third_party, gateway)
        byok, no_byok = (
            launch(_spec(name, on, model_list, gateway.url), anthropic, name)
            for name, on in (("unified", True), ("unified_no_byok", False))
        )
        unified = UnifiedProxies(byok, no_byok, anthropic, third_party, gateway)
        wanted_cli = CLI_SPECS if cli_path() is not None else {}
        cli = {name: launch(spec, fake(), f"cli-{name}") for name, spec in wanted_cli.items()}
        egress_proxies = boot_egress(ContainerBoot(fake, launch))  # type: ignore[arg-type]  # Boot-like
        wait_until_ready(started, STARTUP_TIMEOUT_S)
        yield Containers(live, unified, cli, egress_proxies)


@pytest.fixture(scope="session")
def live_proxies(containers: Containers) -> dict[str, LiveProxy]:
    return containers.live


@pytest.fixture
def unified(containers: Containers) -> UnifiedProxies:
    containers.unified.reset()
    return containers.unified


@pytest.fixture(scope="session")
def egress(containers: Containers) -> Egress:
    return containers.egress


@pytest.fixture(scope="session")
def cli_proxies(containers: Containers) -> dict[str, LiveProxy]:
    return containers.cli
