"""Microbenchmark: what the LiteLLM-key recogniser costs per Claude Code request.

Run with the interpreter of a venv that has the patched LiteLLM. The request is the suite's
Claude Code OAuth request (its 21 headers) plus x-litellm-api-key, Host, Content-Length and
x-stainless-arch-like extras up to about 25 header values; the caller logged in with the master
key. Measured: the recogniser's work on one request's headers as the proxy routes call it,
`drop_secret_headers(headers, caller_secrets(request))`, and, for comparison, the same values
checked one by one with `caller_secrets(request)` computed again for each value (what a call
site that asks per header value pays). Prints one JSON document (also written to --json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import timeit
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tests.behaviour.constants import MASTER_KEY, claude_code_headers  # noqa: E402

EXTRA = [
    ("x-litellm-api-key", f"Bearer {MASTER_KEY}"),
    ("host", "127.0.0.1:4000"),
    ("content-length", "1834"),
    ("x-claude-code-session-id", "0f9d5c1e-3b7a-4c2d-9e8f-1a2b3c4d5e6f"),
]


def request_headers() -> dict[str, str]:
    return dict([*claude_code_headers(), *EXTRA])


def per_call_us(statement: Any, repeat: int, number: int) -> dict[str, float]:
    runs = [t / number * 1e6 for t in timeit.repeat(statement, repeat=repeat, number=number)]
    return {"median_us": round(statistics.median(runs), 2), "min_us": round(min(runs), 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--number", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from litellm.proxy import proxy_server
    from litellm.proxy.auth import caller_secret_guard as guard

    proxy_server.master_key = MASTER_KEY
    request = SimpleNamespace(state=SimpleNamespace())
    guard.remember_caller_key(request, MASTER_KEY)
    headers = request_headers()
    kept = guard.drop_secret_headers(headers, guard.caller_secrets(request))
    assert "x-litellm-api-key" not in kept and len(kept) == len(headers) - 1, kept

    def once_per_request() -> None:
        guard.drop_secret_headers(headers, guard.caller_secrets(request))

    def once_per_value() -> None:
        for value in headers.values():
            guard.carries_caller_secret(value, guard.caller_secrets(request))

    result = {
        "header_values": len(headers),
        "per_request": per_call_us(once_per_request, args.repeat, args.number),
        "caller_secrets_per_value": per_call_us(once_per_value, args.repeat, args.number),
        "caller_secrets_alone": per_call_us(
            lambda: guard.caller_secrets(request), args.repeat, args.number * 10
        ),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
