"""Every live proxy configuration of a test session, booted together when the session starts.

How a test module gets live proxies (the one documented way):

    from tests.behaviour.launcher import Boot, ProxySet

    def _boot(boot: Boot) -> dict[str, LiveProxy]:
        upstream = boot.fake()                         # a recording FakeAnthropic
        return {"mine": boot.proxy(ProxySpec("mine", MASTER_KEY, None), upstream)}

    LIVE_PROXIES = ProxySet("mine", _boot)             # collected by the conftest hook
    mine = LIVE_PROXIES.fixture()                      # a fixture: _boot's result, every proxy live

The fork server starts importing LiteLLM when the session starts, while pytest collects (and is
stopped again if no selected test needs a proxy). At the first test, `_launched_proxies`
(autouse; it and the hooks below are imported by the conftests of tests/behaviour and
tests/claude_code) launches every ProxySet that a selected test needs, all at
once without waiting: a module-level `LIVE_PROXIES` (one ProxySet or a list) of a module with a
selected test, or a ProxySet whose fixture a selected test uses. Launching is forking from the
fork server (proxy_launch.py), so N configurations cost one import of LiteLLM. The fixture then
waits (bounded, failing with the proxy's log tail) only for its own set's proxies. A set nobody
launched at session start (e.g. only reached through another fixture) is launched on first use.
Everything is stopped at the end of the session. `start_proxy` / `wait_until_ready` /
`stop_proxies` remain for a test that needs a proxy of its own.

Under pytest-xdist (`-n N`, as `nox -s apply-and-test` runs the suite) the controller starts the
one fork server every worker uses, and a worker launches a set on first use only: the scheduler
(scheduling.py) hands each worker whole modules, so a worker boots only the sets its modules need.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest

from .fake_upstream import FakeAnthropic, start_fake_anthropic, stop_fake_anthropic
from .live_proxy import LiveProxy, ProxySpec, prepare, start_proxy, stop_proxies, wait_until_ready
from .proxy_launch import stop_fork_servers
from .scheduling import xdist_controller

T = TypeVar("T")
DECLARATION = "LIVE_PROXIES"
_REGISTRY: dict[str, ProxySet[Any]] = {}


@dataclass
class Boot:
    """What a ProxySet's boot function uses: fakes and proxies that live until the session ends."""

    root: Path
    stack: ExitStack
    proxies: list[LiveProxy]  # every proxy of the session (all are stopped together)
    mine: list[LiveProxy] = field(default_factory=list)  # this set's

    def fake(self, **options: Any) -> FakeAnthropic:
        """A recording fake, started now; options go to start_fake_anthropic."""
        upstream = start_fake_anthropic(**options)
        self.stack.callback(stop_fake_anthropic, upstream)
        return upstream

    def proxy(self, spec: ProxySpec, upstream: FakeAnthropic) -> LiveProxy:
        proxy = start_proxy(spec, upstream, self.root / spec.name)
        self.proxies.append(proxy)
        self.mine.append(proxy)
        return proxy


@dataclass(frozen=True)
class ProxySet(Generic[T]):
    """A named group of proxy configurations; `boot` launches them and returns what tests get."""

    name: str
    boot: Callable[[Boot], T]
    timeout_s: float | None = None  # default: live_proxy.STARTUP_TIMEOUT_S

    def __post_init__(self) -> None:
        _REGISTRY[self.name] = self

    def fixture(self, scope: str = "session") -> Any:
        """A fixture named after the set, holding boot's result once every proxy is live."""

        @pytest.fixture(scope=scope, name=self.name)  # type: ignore[call-overload, misc]
        def _live(_launched_proxies: Launched) -> T:
            return _launched_proxies.ready(self)

        return _live


@dataclass
class Launched:
    """The session's launched sets: each one's boot result and its proxies."""

    root: Path
    stack: ExitStack
    results: dict[str, tuple[Any, list[LiveProxy]]] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)
    every_proxy: list[LiveProxy] = field(default_factory=list)

    def launch(self, proxy_set: ProxySet[Any]) -> None:
        if proxy_set.name in self.results:
            return
        boot = Boot(self.root / proxy_set.name, self.stack, self.every_proxy)
        result = proxy_set.boot(boot)
        self.results[proxy_set.name] = (result, boot.mine)

    def ready(self, proxy_set: ProxySet[T]) -> T:
        self.launch(proxy_set)
        result, proxies = self.results[proxy_set.name]
        if proxy_set.name not in self.live:
            timeout = proxy_set.timeout_s
            wait_until_ready(proxies, **({"timeout_s": timeout} if timeout else {}))
            self.live.add(proxy_set.name)
        return result  # type: ignore[no-any-return]


def needed_sets(items: list[pytest.Item]) -> list[ProxySet[Any]]:
    """The sets the selected tests need: their modules' declarations and the fixtures they use."""
    found: dict[str, ProxySet[Any]] = {}
    for module in {id(m): m for m in (getattr(i, "module", None) for i in items) if m}.values():
        declared = getattr(module, DECLARATION, None)
        for proxy_set in declared if isinstance(declared, list | tuple) else [declared]:
            if isinstance(proxy_set, ProxySet):
                found.setdefault(proxy_set.name, proxy_set)
    used = {name for item in items for name in getattr(item, "fixturenames", ())}
    for name, proxy_set in _REGISTRY.items():
        if name in used:
            found.setdefault(name, proxy_set)
    return list(found.values())


def _under_xdist() -> bool:
    return bool(os.environ.get("PYTEST_XDIST_WORKER"))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start importing LiteLLM in the fork server now, while pytest collects (a conftest hook).

    The pytest-xdist controller runs no test: it starts the one fork server its workers share
    (before it starts them: xdist's own sessionstart is trylast), so a run imports LiteLLM for
    its proxies once, however many workers it has.
    """
    if xdist_controller(session.config):
        prepare(shared=True)
    else:
        prepare()


def pytest_collection_finish(session: pytest.Session) -> None:
    """No selected test needs a live proxy: stop the import started above (a conftest hook)."""
    if not needed_sets(session.items):
        stop_fork_servers()


@pytest.fixture(scope="session", autouse=True)
def _launched_proxies(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Launched]:
    """Launch every needed set at the session's first test, all at once; stop them at its end.

    An xdist worker does not know yet which modules it will get: there, first use launches.
    """
    sets = [] if _under_xdist() else needed_sets(request.session.items)
    with ExitStack() as stack:
        launched = Launched(tmp_path_factory.mktemp("live"), stack)
        stack.callback(lambda: stop_proxies(launched.every_proxy))  # all at once, at the end
        for proxy_set in sets:
            launched.launch(proxy_set)
        yield launched
