"""The one way a test starts a LiteLLM proxy process: forked from a server that imported it once.

Every suite (behaviour, claude_code, bench, install) starts proxies through
`live_proxy.start_proxy`, which calls `launch` here. Per interpreter, one `ForkServer`
(tests/behaviour/proxy_forkserver.py) imports LiteLLM's proxy once and forks a child per
configuration, so a configuration costs its own start-up only, not another import of LiteLLM.
`FORKKIT_PROXY_LAUNCH=spawn` starts each proxy as its own `python` process instead (the old way,
for comparison or if a LiteLLM release ever made forking unsafe: the server refuses to fork when
it finds a thread or an event loop, and the launch then fails with that reason).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Protocol

FORKSERVER = Path(__file__).with_name("proxy_forkserver.py")
LAUNCH_ENV = "FORKKIT_PROXY_LAUNCH"
READY_TIMEOUT_S = float(os.environ.get("FORKKIT_PROXY_STARTUP_S", "120")) * 2


class ProxyProcess(Protocol):
    """What a test may do with a proxy's process (subprocess.Popen has all of it)."""

    pid: int

    def poll(self) -> int | None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def wait(self, timeout: float | None = None) -> int: ...


class ForkServer:
    """A running proxy_forkserver.py for one interpreter; launches forked proxies."""

    def __init__(self, python: str, env: dict[str, str]) -> None:
        self.python = python
        self.process = subprocess.Popen(
            [python, str(FORKSERVER)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.ready_state: dict[str, Any] | None = None
        self.exits: dict[int, int] = {}
        self._replies: dict[int, dict[str, Any]] = {}
        self._changed = threading.Condition()
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, name="forkserver-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            message = json.loads(line)
            with self._changed:
                if "ready" in message:
                    self.ready_state = message["ready"]
                elif "exited" in message:
                    self.exits[int(message["exited"])] = int(message["code"])
                else:
                    self._replies[int(message["id"])] = message
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _wait_for(self, done: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise RuntimeError(f"proxy fork server ({self.python}) exited: {what}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"proxy fork server ({self.python}): {what} timed out")
                self._changed.wait(min(left, 0.5))

    def wait_ready(self) -> dict[str, Any]:
        self._wait_for(lambda: self.ready_state is not None, READY_TIMEOUT_S, "importing LiteLLM")
        assert self.ready_state is not None
        return self.ready_state

    def launch(self, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> ForkedProcess:
        self.wait_ready()
        with self._changed:
            self._next_id += 1
            number = self._next_id
        request = {"id": number, "argv": argv, "env": env, "cwd": str(cwd), "log": str(log)}
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request).encode() + b"\n")
        self.process.stdin.flush()
        self._wait_for(lambda: number in self._replies, READY_TIMEOUT_S, "a fork")
        reply = self._replies.pop(number)
        if "error" in reply:
            raise RuntimeError(f"proxy fork server ({self.python}) refused: {reply['error']}")
        return ForkedProcess(int(reply["pid"]), self)

    def exit_code(self, pid: int) -> int | None:
        with self._changed:
            code = self.exits.get(pid)
        if code is None and self.process.poll() is not None and not self._reader.is_alive():
            return -signal.SIGKILL  # the server is gone: its children died with it (PDEATHSIG)
        return code

    def wait_exit(self, pid: int, timeout: float | None) -> int:
        try:
            self._wait_for(lambda: pid in self.exits, timeout or 1e9, f"waiting for {pid}")
        except RuntimeError as exc:
            if self.process.poll() is not None:  # the server is gone, so are its children
                return -signal.SIGKILL
            raise subprocess.TimeoutExpired(str(pid), timeout or 0) from exc
        return self.exits[pid]

    def stop(self) -> None:
        """End of input: the server stops every child, then itself."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ForkedProcess:
    """A proxy forked by a ForkServer, with the subset of Popen that tests use."""

    def __init__(self, pid: int, server: ForkServer) -> None:
        self.pid = pid
        self.server = server

    def poll(self) -> int | None:
        return self.server.exit_code(self.pid)

    def _signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        return self.server.wait_exit(self.pid, timeout)


_SERVERS: dict[str, ForkServer] = {}
_LOCK = threading.Lock()


def fork_server(python: str, env: dict[str, str]) -> ForkServer:
    """The interpreter's fork server, started on first use (it imports LiteLLM meanwhile)."""
    with _LOCK:
        server = _SERVERS.get(python)
        if server is None or server.process.poll() is not None:
            server = _SERVERS[python] = ForkServer(python, env)
        return server


def stop_fork_servers() -> None:
    with _LOCK:
        servers = list(_SERVERS.values())
        _SERVERS.clear()
    for server in servers:
        server.stop()


atexit.register(stop_fork_servers)


def spawning() -> bool:
    return os.environ.get(LAUNCH_ENV, "fork") == "spawn"


def launch(
    python: str, argv: list[str], env: dict[str, str], base_env: dict[str, str], log: Any
) -> ProxyProcess:
    """`run_server argv` with env, in the log's folder, its output to the (open) log file.

    base_env is what the fork server imports LiteLLM with: env without what differs per proxy.
    """
    workdir = Path(log.name).parent
    if spawning():
        command = [python, "-c", "from litellm.proxy.proxy_cli import run_server; run_server()"]
        return subprocess.Popen(
            [*command, *argv],
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return fork_server(python, base_env).launch(argv, env, workdir, Path(log.name))
