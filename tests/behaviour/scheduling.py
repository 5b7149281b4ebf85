"""Which xdist worker runs what, and in which order: whole modules, the longest first.

`nox -s apply-and-test` runs the suite on pytest-xdist workers. Each worker boots the proxy sets
its modules need, so a module goes whole to one worker (a scope). The in-process modules
(test_inprocess_*, test_unit_*) are one scope, so one test process pays for importing LiteLLM,
and it goes first: it needs no proxy, so its import overlaps the fork server's, which every
other module waits for. The other scopes go longest first (longest-processing-time first keeps
a long module from starting last and running alone): by how long each took last time (kept in
pytest's cache, `forkkit/scope-seconds`), a scope never timed by its number of tests.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Any

import pytest

from .proxy_launch import stop_fork_servers

IN_PROCESS_MODULES = ("test_inprocess_", "test_unit_")
IN_PROCESS = "litellm-in-process"
CACHE_KEY = "forkkit/scope-seconds"
UNTIMED_S_PER_TEST = 0.05  # a scope with no recorded time: its tests at about this each


def xdist_controller(config: pytest.Config) -> bool:
    """This process is the pytest-xdist controller: it runs no test, its workers do."""
    return config.pluginmanager.get_plugin("dsession") is not None


def scope_of(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0]
    return IN_PROCESS if Path(module).name.startswith(IN_PROCESS_MODULES) else module


def scope_order(scopes: dict[str, int], seconds: dict[str, float]) -> list[str]:
    """Scopes (name -> number of tests) in the order to hand them out."""

    def expected(scope: str) -> float:
        return seconds.get(scope, scopes[scope] * UNTIMED_S_PER_TEST)

    rest = sorted((s for s in scopes if s != IN_PROCESS), key=expected, reverse=True)
    return ([IN_PROCESS] if IN_PROCESS in scopes else []) + rest


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Whole modules to a worker, in scope_order (a conftest hook)."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            """Hand out scopes in scope_order (xdist takes the queue's first each time).

            Only the queue is reordered: a worker runs tests by their index in its own
            collection, so the collections themselves must stay as collected.
            """
            if not getattr(self, "_ordered", False):
                self._ordered = True
                counts = {scope: len(nodeids) for scope, nodeids in self.workqueue.items()}
                order = scope_order(counts, _recorded(config))
                self.workqueue = OrderedDict((scope, self.workqueue[scope]) for scope in order)
            super()._assign_work_unit(node)

    return ModuleScheduling(config, log)


def _recorded(config: pytest.Config) -> dict[str, float]:
    cache = getattr(config, "cache", None)
    found = cache.get(CACHE_KEY, {}) if cache is not None else {}
    return {str(k): float(v) for k, v in found.items()} if isinstance(found, dict) else {}


class ScopeTimer:
    """Adds up each scope's test durations as reports arrive; keeps them when the run ends."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[scope_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Only the xdist controller records (it sees every worker's reports), so a run of one
        module without workers does not replace the times of a whole run."""
        config = session.config
        if not xdist_controller(config) or config.cache is None:
            return
        if self.seconds:
            config.cache.set(CACHE_KEY, {**_recorded(config), **self.seconds})


def pytest_configure(config: pytest.Config) -> None:
    """Register the ScopeTimer; an xdist worker exits without tearing down (a conftest hook)."""
    config.pluginmanager.register(ScopeTimer(), "forkkit-scope-timer")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        atexit.register(_exit_without_teardown)


def _exit_without_teardown() -> None:
    """End an xdist worker once its results are sent, skipping the interpreter's teardown.

    A worker that imported LiteLLM spends ~3 s of CPU freeing its thousands of modules at exit,
    and the controller waits for it. Registered at configure, this runs after the exit handlers
    registered later (LiteLLM's own flushes among them); what it would skip, it does itself.
    """
    stop_fork_servers()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
