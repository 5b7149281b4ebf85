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
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO, Protocol

FORKSERVER = Path(__file__).with_name("proxy_forkserver.py")
LAUNCH_ENV = "FORKKIT_PROXY_LAUNCH"
# Set by share_fork_server for the processes it starts: {"python": ..., "socket": path}.
SHARED_ENV = "FORKKIT_SHARED_FORK_SERVER"
READY_TIMEOUT_S = float(os.environ.get("FORKKIT_PROXY_STARTUP_S", "120")) * 2


class ProxyProcess(Protocol):
    """What a test may do with a proxy's process (subprocess.Popen has all of it)."""

    pid: int

    def poll(self) -> int | None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def wait(self, timeout: float | None = None) -> int: ...


class ForkServer:
    """A proxy_forkserver.py for one interpreter, started here or shared; launches proxies.

    Started here, it talks over the process's stdin/stdout; shared (`connect`), over a unix socket
    of a server another process started (the pytest-xdist controller, for all its workers).
    """

    def __init__(
        self,
        python: str,
        reader: BinaryIO,
        writer: BinaryIO,
        process: subprocess.Popen[bytes] | None = None,  # None: another process's server
        sock: socket.socket | None = None,  # the connection to it
    ) -> None:
        self.python = python
        self.reader, self.writer = reader, writer
        self.process, self.socket = process, sock
        self.ready_state: dict[str, Any] | None = None
        self.exits: dict[int, int] = {}
        self._replies: dict[int, dict[str, Any]] = {}
        self._changed = threading.Condition()
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, name="forkserver-reader", daemon=True)
        self._reader.start()

    @classmethod
    def start(
        cls, python: str, env: dict[str, str], listener: socket.socket | None = None
    ) -> ForkServer:
        """Start a server (importing LiteLLM meanwhile); `listener`: also serve its clients."""
        extra = ["--listen-fd", str(listener.fileno())] if listener else []
        process = subprocess.Popen(
            [python, str(FORKSERVER), *extra],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=[listener.fileno()] if listener else (),
        )
        assert process.stdin is not None and process.stdout is not None
        return cls(python, process.stdout, process.stdin, process=process)

    @classmethod
    def connect(cls, python: str, path: str) -> ForkServer:
        """A client of the shared server listening on `path`."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        return cls(python, sock.makefile("rb"), sock.makefile("wb"), sock=sock)

    @property
    def pid(self) -> int:
        return int(self.wait_ready()["pid"])

    def _read(self) -> None:
        for line in self.reader:
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

    def _gone(self) -> bool:
        """The server closed its end: it exited (and its children with it, PDEATHSIG)."""
        return not self._reader.is_alive()

    def _wait_for(self, done: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                if self._gone():
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
            self.writer.write(json.dumps(request).encode() + b"\n")
            self.writer.flush()
        self._wait_for(lambda: number in self._replies, READY_TIMEOUT_S, "a fork")
        reply = self._replies.pop(number)
        if "error" in reply:
            raise RuntimeError(f"proxy fork server ({self.python}) refused: {reply['error']}")
        return ForkedProcess(int(reply["pid"]), self)

    def exit_code(self, pid: int) -> int | None:
        with self._changed:
            code = self.exits.get(pid)
        if code is None and self._gone():
            return -signal.SIGKILL  # the server is gone: its children died with it (PDEATHSIG)
        return code

    def wait_exit(self, pid: int, timeout: float | None) -> int:
        try:
            self._wait_for(lambda: pid in self.exits, timeout or 1e9, f"waiting for {pid}")
        except RuntimeError as exc:
            if self._gone():
                return -signal.SIGKILL
            raise subprocess.TimeoutExpired(str(pid), timeout or 0) from exc
        return self.exits[pid]

    def stop(self) -> None:
        """End of input: the server stops this client's children (its own: all, then itself).

        A server still importing LiteLLM reads no input yet and has no children: it is killed
        rather than waited for (that import is seconds of CPU nobody would use).
        """
        with contextlib.suppress(OSError, ValueError):
            self.writer.close()
        if self.socket is not None:
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_RDWR)
            self.socket.close()
        if self.process is None:
            return
        if self.ready_state is None:
            self.process.kill()
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
    """The interpreter's fork server: the shared one if a parent process started it (see
    share_fork_server), else one started on first use (it imports LiteLLM meanwhile)."""
    with _LOCK:
        server = _SERVERS.get(python)
        if server is None or server._gone():
            shared = json.loads(os.environ.get(SHARED_ENV) or "{}")
            if shared.get("python") == python:
                server = ForkServer.connect(python, shared["socket"])
            else:
                server = ForkServer.start(python, env)
            _SERVERS[python] = server
        return server


def share_fork_server(python: str, env: dict[str, str]) -> None:
    """Start the interpreter's fork server for this process and every process it starts later.

    The socket is bound here, before the server starts, so a child can connect at once; the
    environment variable tells children (e.g. pytest-xdist workers) where it is.
    """
    folder = tempfile.mkdtemp(prefix="forkkit-")  # short: a unix socket path has ~100 bytes
    path = os.path.join(folder, "forkserver.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    with _LOCK:
        _SERVERS[python] = ForkServer.start(python, env, listener)
    listener.close()  # the server has its own copy
    os.environ[SHARED_ENV] = json.dumps({"python": python, "socket": path})
    atexit.register(_remove_socket, path)


def _remove_socket(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
        os.rmdir(os.path.dirname(path))


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
