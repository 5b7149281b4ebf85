"""Import LiteLLM's proxy once, then fork one child per proxy configuration.

Booting the proxy is mostly importing LiteLLM (thousands of modules, seconds of CPU each time).
This server, run with the interpreter whose LiteLLM is under test, imports it once; every proxy
is then a fork that sets its own environment and calls `run_server` with its own config, so N
configurations cost one import instead of N. Only the standard library and LiteLLM are used
here: it runs as a script (`python proxy_forkserver.py`), never imported by LiteLLM's children.

A fork is only safe when the parent has no other thread (a lock held by one would stay locked in
the child forever) and no event loop (the child would share its selector). `fork_guard` checks
both before every fork and refuses otherwise; the server reports what it found when it is ready.

Protocol, one JSON object a line. Server -> client: {"ready": {...}} once, then {"id", "pid"} or
{"id", "error"} per launch, {"exited": pid, "code": n} when one of its children ends. Client ->
server: {"id", "argv", "env", "cwd", "log"} to launch. The client that started the server talks
over its stdin/stdout, and its end of input stops every child and the server. With
`--listen-fd N` (a listening unix socket the starter bound) more clients connect there, e.g. the
workers of one pytest-xdist run sharing one import; a client's disconnect stops its children.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

PRELOAD = ("litellm.proxy.proxy_server", "litellm.proxy.proxy_cli", "uvicorn")
# What proxies import while they start and serve their first requests: imported once here
# instead of once per child (about half a proxy's boot CPU, and its first request's).
STARTUP_IMPORTS = Path(__file__).with_name("proxy_preload.txt")
STOP_GRACE_S = 10.0
_PR_SET_PDEATHSIG = 1


def startup_imports() -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in STARTUP_IMPORTS.read_text().splitlines())
    return [line for line in lines if line]


def warm_routes() -> None:
    """Build the proxy app's per-route state once, here: FastAPI builds it on the first request
    that matches against a route, ~0.5 s of CPU in every proxy's first request otherwise.
    Matching a path no route has builds it for all of them; no endpoint, thread or event loop
    runs (fork_guard still checks). A FastAPI that works otherwise is left as it is."""
    from litellm.proxy.proxy_server import app

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/.forkkit-warm",
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    for route in app.router.routes:
        with contextlib.suppress(Exception):
            route.matches(scope)


def import_frozen(required: tuple[str, ...], optional: list[str]) -> int:
    """Import the modules with the cyclic GC off, then freeze everything; the frozen count.

    `required` must import; an `optional` name the release lacks is skipped.

    The import makes about a million long-lived objects, and the GC's passes over them while it
    runs are a sixth of its CPU. Frozen, no collection in a fork ever walks them again or writes
    to their pages (which would copy them), as LiteLLM's own `gc.freeze()` at start-up intends.
    """
    gc.disable()
    try:
        for module in required:
            __import__(module)
        for module in optional:
            with contextlib.suppress(ImportError):
                __import__(module)
        warm_routes()
    finally:
        gc.collect()  # what the passes skipped: garbage, not to be kept frozen in every fork
        gc.freeze()
        gc.enable()
    return gc.get_freeze_count()


def count_frozen_without_walking(frozen_at_fork: int) -> None:
    """In a fork: answer `gc.get_freeze_count()` without walking the ~million frozen objects.

    Every proxy logs it once at start-up, and walking the list costs ~0.2 s of CPU per boot. The
    count stays exact: what the fork server froze, plus what each later `gc.freeze()` moves (the
    objects of the three young generations, counted before it moves them).
    """
    frozen = frozen_at_fork
    freeze, unfreeze = gc.freeze, gc.unfreeze

    def counting_freeze() -> None:
        nonlocal frozen
        # one call at a time, each list gone before the next: nothing transient is counted
        frozen += len(gc.get_objects(0)) + len(gc.get_objects(1)) + len(gc.get_objects(2))
        freeze()

    def counting_unfreeze() -> None:
        nonlocal frozen
        frozen = 0
        unfreeze()

    gc.freeze, gc.unfreeze = counting_freeze, counting_unfreeze  # type: ignore[assignment]
    gc.get_freeze_count = lambda: frozen  # type: ignore[assignment]


def pre_fork_state() -> dict[str, Any]:
    """What would make a fork unsafe: threads besides this one, a running or set event loop."""
    try:
        asyncio.get_running_loop()
        running = True
    except RuntimeError:
        running = False
    policy = asyncio.get_event_loop_policy()
    local = getattr(policy, "_local", None)
    return {
        "threads": [t.name for t in threading.enumerate()],
        "running_loop": running,
        "loop_set": getattr(local, "_loop", None) is not None,
        "pid": os.getpid(),
    }


def fork_guard() -> dict[str, Any]:
    """The pre-fork state; RuntimeError when another thread or an event loop exists."""
    state = pre_fork_state()
    if len(state["threads"]) != 1 or state["running_loop"] or state["loop_set"]:
        raise RuntimeError(f"unsafe to fork: {state}")
    return state


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _child(request: dict[str, Any], inherited: list[int], frozen: int) -> None:
    """In the fork: become the proxy. Never returns."""
    code = 1
    try:
        count_frozen_without_walking(frozen)
        os.setpgid(0, 0)
        _die_with_parent()
        for fd in inherited:  # the server's sockets: a client must see EOF when the server ends
            with contextlib.suppress(OSError):
                os.close(fd)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # a proxy's own PYTHONPATH (e.g. a callback module) reaches the fork's sys.path too
        for entry in reversed(os.environ.get("PYTHONPATH", "").split(os.pathsep)):
            if entry and entry not in sys.path:
                sys.path.insert(0, entry)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from litellm.proxy.proxy_cli import run_server

        run_server.main(args=request["argv"], prog_name="litellm", standalone_mode=False)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


class Client:
    """One connected client: where its requests come from, where its answers go, its children."""

    def __init__(self, read_fd: int, write_fd: int, sock: socket.socket | None = None) -> None:
        self.read_fd, self.write_fd, self.sock = read_fd, write_fd, sock
        self.buffer = b""
        self.children: set[int] = set()
        self.closed = False

    def say(self, message: dict[str, Any]) -> None:
        if self.closed:  # its fd number may belong to a newer client by now
            return
        data = (json.dumps(message) + "\n").encode()
        with contextlib.suppress(OSError):  # a client that went away hears nothing more
            while data:
                data = data[os.write(self.write_fd, data) :]

    def requests(self, chunk: bytes) -> list[dict[str, Any]]:
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]

    def close(self) -> None:
        self.closed = True
        if self.sock is not None:
            self.sock.close()


class Server:
    """The owner (stdin/stdout), the listening socket's clients, and who launched which child."""

    def __init__(self, listener: socket.socket | None) -> None:
        self.owner = Client(sys.stdin.fileno(), sys.stdout.fileno())
        self.listener = listener
        self.clients: dict[int, Client] = {self.owner.read_fd: self.owner}
        self.parents: dict[int, Client] = {}  # child pid -> the client that launched it
        self.state: dict[str, Any] = {}

    def inherited(self) -> list[int]:
        sockets = [c.read_fd for c in self.clients.values() if c.sock is not None]
        return sockets + ([self.listener.fileno()] if self.listener else [])

    def launch(self, client: Client, request: dict[str, Any]) -> None:
        try:
            fork_guard()
        except RuntimeError as exc:
            client.say({"id": request["id"], "error": str(exc)})
            return
        pid = os.fork()
        if pid == 0:
            _child(request, self.inherited(), self.state["frozen"])
        client.children.add(pid)
        self.parents[pid] = client
        client.say({"id": request["id"], "pid": pid})

    def reap(self) -> None:
        while self.parents:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            client = self.parents.pop(pid, None)
            if client is not None:
                client.children.discard(pid)
                client.say({"exited": pid, "code": os.waitstatus_to_exitcode(status)})

    def accept(self) -> None:
        assert self.listener is not None
        sock, _ = self.listener.accept()
        client = Client(sock.fileno(), sock.fileno(), sock)
        self.clients[client.read_fd] = client
        client.say({"ready": self.state})

    def disconnect(self, client: Client) -> None:
        """A client went away: its children are stopped (they would serve nobody)."""
        for pid in client.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        del self.clients[client.read_fd]
        client.close()

    def stop_all(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in list(self.parents):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + STOP_GRACE_S
            while self.parents and time.monotonic() < deadline:
                self.reap()
                time.sleep(0.05)

    def serve_forever(self) -> int:
        while True:
            watched = [*self.clients, *([self.listener.fileno()] if self.listener else [])]
            readable, _, _ = select.select(watched, [], [], 0.1)
            self.reap()
            for fd in readable:
                if self.listener is not None and fd == self.listener.fileno():
                    self.accept()
                    continue
                client = self.clients[fd]
                chunk = os.read(fd, 1 << 16)
                if chunk:
                    for request in client.requests(chunk):
                        self.launch(client, request)
                elif client is self.owner:
                    self.stop_all()
                    return 0
                else:
                    self.disconnect(client)


def serve(listen_fd: int | None = None) -> int:
    _die_with_parent()
    listener = socket.socket(fileno=listen_fd) if listen_fd is not None else None
    started = time.perf_counter()
    frozen = import_frozen(PRELOAD, startup_imports())
    server = Server(listener)
    seconds = round(time.perf_counter() - started, 3)
    server.state = {**pre_fork_state(), "import_s": seconds, "frozen": frozen}
    server.owner.say({"ready": server.state})
    return server.serve_forever()


if __name__ == "__main__":
    arguments = sys.argv[1:]
    code = serve(int(arguments[1]) if arguments[:1] == ["--listen-fd"] else None)
    # Every child is stopped: skip tearing down thousands of LiteLLM modules (seconds of CPU).
    os._exit(code)
