"""The proxy launcher: proxies are forked from one LiteLLM import, and only when that is safe."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .live_proxy import LiveProxy, base_env
from .proxy_forkserver import fork_guard, pre_fork_state
from .proxy_launch import fork_server, spawning
from .scheduling import IN_PROCESS, scope_order


def parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_live_proxies_are_forked_from_a_parent_with_one_thread_and_no_event_loop(
    live_proxies: dict[str, LiveProxy],
) -> None:
    if spawning():
        pytest.skip("FORKKIT_PROXY_LAUNCH=spawn: every proxy is its own process")
    server = fork_server(sys.executable, base_env())
    state = server.wait_ready()  # measured after importing LiteLLM, before the first fork
    assert state["threads"] == ["MainThread"], state
    assert not state["running_loop"] and not state["loop_set"], state
    for proxy in live_proxies.values():
        assert proxy.process is not None and proxy.process.poll() is None
        assert parent_pid(proxy.process.pid) == server.pid == state["pid"]


def test_the_fork_guard_refuses_while_another_thread_runs() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait, name="holds-a-lock-maybe")
    thread.start()
    try:
        assert "holds-a-lock-maybe" in pre_fork_state()["threads"]
        with pytest.raises(RuntimeError, match="unsafe to fork"):
            fork_guard()
    finally:
        release.set()
        thread.join()


def test_the_fork_guard_refuses_inside_a_running_event_loop() -> None:
    async def inside() -> dict[str, object]:
        state = pre_fork_state()
        with pytest.raises(RuntimeError, match="unsafe to fork"):
            fork_guard()
        return state

    assert asyncio.run(inside())["running_loop"] is True


def test_scopes_go_out_in_process_first_then_longest_first() -> None:
    counts = {"a.py": 10, IN_PROCESS: 5, "b.py": 400, "c.py": 1}
    recorded = {"a.py": 30.0, "c.py": 12.0}  # b.py never timed: 400 tests at the default
    assert scope_order(counts, recorded) == [IN_PROCESS, "a.py", "b.py", "c.py"]
    assert scope_order({"x.py": 3}, {}) == ["x.py"]


# Run in a child interpreter: the check replaces the gc module's functions for good.
FREEZE_COUNT_CHECK = """
import gc, sys
sys.path.insert(0, sys.argv[1])
from proxy_forkserver import count_frozen_without_walking
walk = gc.get_freeze_count
kept = [[n] for n in range(5000)]
gc.freeze()
count_frozen_without_walking(walk())
more = [{"n": n} for n in range(7000)]
gc.freeze()
assert gc.get_freeze_count() == walk(), (gc.get_freeze_count(), walk())
gc.unfreeze()
assert gc.get_freeze_count() == walk() == 0, (gc.get_freeze_count(), walk())
"""


def test_a_forks_freeze_count_is_the_walked_count() -> None:
    """What the fork server's children answer for gc.get_freeze_count() (logged by every proxy
    at start-up) is what walking the frozen objects would count, after the fork's own freeze."""
    here = str(Path(__file__).parent)
    done = subprocess.run(
        [sys.executable, "-c", FREEZE_COUNT_CHECK, here], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
