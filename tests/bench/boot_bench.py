"""How long a LiteLLM proxy takes to boot, with and without bytecode, spawned and forked.

Run with the interpreter of a venv that has the patched LiteLLM (installed with bytecode, as
every environment the toolkit creates). Each figure is wall time from launch to the first 200 of
/health/liveliness, through tests/behaviour's one launcher:
- spawned, no bytecode: a fresh `python` whose PYTHONPYCACHEPREFIX points at an empty folder,
  so it finds no .pyc and (PYTHONDONTWRITEBYTECODE) compiles every module it imports: the
  test venvs before this toolkit compiled bytecode;
- spawned, bytecode: a fresh `python` per proxy (FORKKIT_PROXY_LAUNCH=spawn);
- forked: the fork server's one import of LiteLLM, then one proxy forked from it, then --many
  proxies forked at once (what a test session does).
Prints one JSON document (also written to --json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.behaviour.constants import MASTER_KEY, SERVER_KEY  # noqa: E402
from tests.behaviour.fake_upstream import start_fake_anthropic, stop_fake_anthropic  # noqa: E402
from tests.behaviour.live_proxy import (  # noqa: E402
    ProxySpec,
    base_env,
    start_proxy,
    stop_proxies,
    wait_until_ready,
)
from tests.behaviour.proxy_launch import LAUNCH_ENV, fork_server, stop_fork_servers  # noqa: E402

TIMEOUT_S = 600.0


@contextmanager
def environment(**values: str) -> Iterator[None]:
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def boot(count: int, workdir: Path) -> float:
    """Seconds from launching `count` proxies at once until all are live."""
    upstream = start_fake_anthropic()
    started = time.perf_counter()
    proxies = [
        start_proxy(ProxySpec(f"p{n}", MASTER_KEY, SERVER_KEY), upstream, workdir / f"p{n}")
        for n in range(count)
    ]
    try:
        wait_until_ready(proxies, TIMEOUT_S)
        return round(time.perf_counter() - started, 2)
    finally:
        stop_proxies(proxies)
        stop_fake_anthropic(upstream)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--many", type=int, default=6, help="proxies forked at once")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result: dict[str, object] = {"python": sys.executable}
    with tempfile.TemporaryDirectory(prefix="boot-bench-") as scratch:
        root = Path(scratch)
        empty = root / "no-pycache"
        empty.mkdir()
        with environment(**{LAUNCH_ENV: "spawn", "PYTHONPYCACHEPREFIX": str(empty)}):
            result["spawned_no_bytecode_s"] = boot(1, root / "no-bytecode")
        with environment(**{LAUNCH_ENV: "spawn"}):
            result["spawned_bytecode_s"] = boot(1, root / "bytecode")
        started = time.perf_counter()
        server = fork_server(sys.executable, base_env())
        server.wait_ready()
        result["fork_server_import_s"] = round(time.perf_counter() - started, 2)
        result["forked_one_s"] = boot(1, root / "forked-one")
        result["forked_many"] = args.many
        result["forked_many_s"] = boot(args.many, root / "forked-many")
        stop_fork_servers()
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
