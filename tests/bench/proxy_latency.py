"""Per-request cost of the patches: the /anthropic route, patched vs unpatched, in one run.

Run it with the interpreter of a venv that has the patched LiteLLM (it launches that proxy with
itself) and pass the interpreter of a venv with unpatched LiteLLM. Both proxies forward to one
fake Anthropic on loopback (the behaviour suite's, imported from tests/behaviour). Requests go
one at a time, in batches that rotate between the proxies, so drift hits both alike; each
variant runs as --instances processes whose samples are pooled, because one process can be
several per cent slower than an identical one for as long as it lives, for reasons unrelated to
the code (with two each, the pooled medians moved by up to 7% from run to run; six each). All of
it runs on one CPU (--cpu), as the requests go one at a time. The request is Claude Code's
OAuth request plus x-litellm-api-key: every patch in the series has work to do on it.
Prints one JSON document (also written to --json).

    .nox/apply-and-test/bin/python tests/bench/proxy_latency.py \\
        --unpatched-python .nox/negative-control/bin/python --requests 500
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.behaviour.constants import (  # noqa: E402
    CLAUDE_CODE_QUERY,
    MASTER_KEY,
    MESSAGES_PATH,
    SERVER_KEY,
    claude_code_body,
    claude_code_headers,
)
from tests.behaviour.fake_upstream import (  # noqa: E402
    FakeAnthropic,
    _Handler,
    start_fake_anthropic,
    stop_fake_anthropic,
)
from tests.behaviour.live_proxy import (  # noqa: E402
    LiveProxy,
    ProxySpec,
    start_proxy,
    stop_proxies,
    wait_until_ready,
)

HEADERS = [*claude_code_headers(), ("x-litellm-api-key", f"Bearer {MASTER_KEY}")]
BODIES = {
    mode: json.dumps(claude_code_body(stream=mode == "streaming")).encode()
    for mode in ("non-streaming", "streaming")
}
CASE = "Claude Code OAuth (Authorization: Bearer sk-ant-oat…) + x-litellm-api-key, server key set"
VERSION_CODE = "import importlib.metadata as m; print(m.version('litellm'))"


def launch(name: str, python: str, upstream: FakeAnthropic, workdir: Path) -> LiveProxy:
    return start_proxy(ProxySpec(name, MASTER_KEY, SERVER_KEY), upstream, workdir, python)


def send(client: httpx.Client, mode: str) -> float:
    """One request, read to the last byte; its latency in seconds."""
    started = time.perf_counter()
    with client.stream(
        "POST", f"{MESSAGES_PATH}?{CLAUDE_CODE_QUERY}", headers=HEADERS, content=BODIES[mode]
    ) as response:
        for _ in response.iter_raw():
            pass
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{client.base_url} answered {response.status_code} ({mode})")
    return elapsed


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values) * 1000, 3),
        "p95_ms": round(percentile(values, 95) * 1000, 3),
        "mean_ms": round(statistics.fmean(values) * 1000, 3),
    }


def variant(instance: str) -> str:
    return instance.rsplit("-", 1)[0]


def measure(args: argparse.Namespace, proxies: dict[str, LiveProxy]) -> dict[str, Any]:
    upstream = next(iter(proxies.values())).upstream
    clients = {
        name: httpx.Client(base_url=p.url, timeout=args.request_timeout, trust_env=False)
        for name, p in proxies.items()
    }
    variants = sorted({variant(name) for name in proxies})
    by_instance: dict[str, dict[str, list[float]]] = {m: {n: [] for n in proxies} for m in BODIES}
    server_key_sent = {v: 0 for v in variants}
    deadline = time.monotonic() + args.budget
    try:
        for client in clients.values():  # warm-up: imports, connection pools, caches
            for mode in BODIES:
                for _ in range(args.warmup):
                    send(client, mode)
        names = list(clients)
        for number in range(math.ceil(args.requests / (args.batch * args.instances))):
            order = names[number % len(names) :] + names[: number % len(names)]
            for mode in BODIES:
                for name in order if number % 2 == 0 else reversed(order):
                    upstream.reset()
                    for _ in range(args.batch):
                        by_instance[mode][name].append(send(clients[name], mode))
                    server_key_sent[variant(name)] += sum(
                        SERVER_KEY in r.header_values("x-api-key") for r in upstream.requests
                    )
            if time.monotonic() > deadline:
                break
    finally:
        for client in clients.values():
            client.close()
    cases: dict[str, Any] = {}
    for mode, instances in by_instance.items():
        pooled = {
            v: [x for n, xs in instances.items() if variant(n) == v for x in xs] for v in variants
        }
        stats = {v: summary(values) for v, values in pooled.items()}
        ratio = {
            key: round(stats["patched"][f"{key}_ms"] / stats["unpatched"][f"{key}_ms"], 3)
            for key in ("median", "p95")
        }
        per_instance = {n: summary(xs)["median_ms"] for n, xs in instances.items()}
        cases[mode] = {
            **stats,
            "ratio_median": ratio["median"],
            "ratio_p95": ratio["p95"],
            "median_ms_per_instance": per_instance,
        }
    total = {v: sum(cases[m][v]["n"] for m in BODIES) for v in variants}
    return {
        "cases": cases,
        "server_key_sent_upstream": {v: f"{server_key_sent[v]}/{total[v]}" for v in variants},
        "truncated_by_budget": any(
            cases[m][v]["n"] < args.requests for m in BODIES for v in variants
        ),
    }


def litellm_version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", VERSION_CODE], capture_output=True, text=True, timeout=120, check=False
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unpatched-python", required=True)
    parser.add_argument("--requests", type=int, default=500, help="per variant and mode")
    parser.add_argument("--batch", type=int, default=10, help="requests per alternation")
    parser.add_argument(
        "--instances", type=int, default=6, help="proxy processes per variant, pooled"
    )
    parser.add_argument("--warmup", type=int, default=20, help="per proxy and mode")
    parser.add_argument(
        "--cpu",
        type=int,
        default=0,
        help="run this script, its fake upstream and every proxy on this one CPU (-1: don't pin)",
    )
    parser.add_argument("--budget", type=float, default=240.0, help="stop measuring after (s)")
    parser.add_argument("--request-timeout", type=float, default=30.0)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    # A SIGTERM from the caller (its timeout) still stops the proxies on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Requests go one at a time, so one CPU does all the work of one; pinned, where the scheduler
    # puts each process is one less thing that differs between variants. It does not make two
    # identical proxies equally fast (they still differed by up to a quarter here): pooling
    # --instances of each does that. Pinned before anything starts, every process inherits it.
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    pythons = {"patched": sys.executable, "unpatched": os.path.abspath(args.unpatched_python)}
    # The fake writes headers and body (or each SSE event) separately; with Nagle's algorithm on,
    # each later write waits for the proxy's delayed ACK (40 ms on Linux), a fixed stall that
    # would swamp what the proxy itself spends. Only this process's copy of the class changes.
    _Handler.disable_nagle_algorithm = True
    with tempfile.TemporaryDirectory(prefix="proxy-latency-") as scratch:
        upstream = start_fake_anthropic()
        proxies: dict[str, LiveProxy] = {}
        try:
            for number in range(1, args.instances + 1):
                for kind, python in pythons.items():
                    name = f"{kind}-{number}"
                    proxies[name] = launch(name, python, upstream, Path(scratch) / name)
            started = time.monotonic()
            wait_until_ready(list(proxies.values()))
            booted = time.monotonic() - started
            result = {
                "credential_case": CASE,
                "litellm": {
                    "patched": importlib.metadata.version("litellm"),
                    "unpatched": litellm_version(args.unpatched_python),
                },
                "requests_per_case": args.requests,
                "instances_per_variant": args.instances,
                "batch": args.batch,
                "warmup": args.warmup,
                "cpu": args.cpu if args.cpu >= 0 else None,
                "boot_s": round(booted, 1),
                **measure(args, proxies),
            }
        finally:
            stop_proxies(list(proxies.values()))
            stop_fake_anthropic(upstream)
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
