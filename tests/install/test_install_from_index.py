"""Install the patched wheel as a user would: from dist/simple served on loopback, with pip and uv.

Run by `nox -s install-from-index`, which builds and indexes the wheel first. Each installer gets a
fresh venv and `litellm[proxy]==<upstream>+<label>.<n>` from the fork's index, every other
dependency from the user's own configured index (uv also gets upstream/overrides.txt, where that
index lags). The installed proxy then serves one Claude Code request to a fake Anthropic.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from uv import find_uv_bin

from tests.behaviour.checks import assert_credentials, assert_secret_nowhere
from tests.behaviour.constants import MASTER_KEY, OAUTH_TOKEN, SERVER_KEY, claude_code_body
from tests.behaviour.fake_upstream import start_fake_anthropic, stop_fake_anthropic
from tests.behaviour.live_proxy import ProxySpec, start_proxy, stop_proxies, wait_until_ready
from tests.loopback import serving

ROOT = Path(__file__).resolve().parents[2]
INDEX_DIR = ROOT / "dist" / "simple"
OVERRIDES = ROOT / "upstream" / "overrides.txt"
INSTALL_TIMEOUT_S = 900
STARTUP_TIMEOUT_S = 300.0


def indexed_wheel() -> Path:
    """The wheel `nox -s install-from-index` just built and indexed."""
    name = os.environ.get("FORKKIT_INDEXED_WHEEL")
    if not name:
        pytest.skip("FORKKIT_INDEXED_WHEEL is not set; `nox -s install-from-index` sets it")
    wheel = INDEX_DIR / "litellm" / name
    assert wheel.is_file(), f"{wheel} is not in the index"
    return wheel


@pytest.fixture(scope="module")
def index_url() -> Iterator[str]:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(INDEX_DIR))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}/"


def install_commands(
    installer: str, venv: Path, index_url: str, requirement: str
) -> list[list[str]]:
    python = str(venv / "bin" / "python")
    if installer == "pip":
        pip = [python, "-m", "pip", "install", "-q", "--extra-index-url", index_url, requirement]
        return [[sys.executable, "-m", "venv", str(venv)], pip]
    uv = find_uv_bin()
    overrides = ["--override", str(OVERRIDES)] if OVERRIDES.is_file() else []
    # --compile-bytecode, as pip does by default: otherwise the proxy's first start compiles
    # LiteLLM's thousands of modules, minutes on a busy 2-core machine.
    install = [uv, "pip", "install", "-q", "--compile-bytecode", "--python", python]
    install += ["--extra-index-url", index_url]
    return [
        [uv, "venv", "-q", "--python", sys.executable, str(venv)],
        [*install, *overrides, requirement],
    ]


def skip_if_only_overrides_help(stderr: str) -> None:
    """pip has no overrides: where the index lacks a pin upstream/overrides.txt replaces, skip."""
    missing = re.search(r"No matching distribution found for ([A-Za-z0-9_.-]+)", stderr)
    overridden = OVERRIDES.read_text() if OVERRIDES.is_file() else ""
    if missing and re.search(
        rf"^{re.escape(missing[1])}(?![A-Za-z0-9_.-])", overridden, re.MULTILINE
    ):
        pytest.skip(
            f"pip: this index lacks {missing[1]}, which upstream/overrides.txt overrides for uv;"
            " pip has no overrides"
        )


def installed(python: Path) -> tuple[str, dict[str, object]]:
    code = (
        "import importlib.metadata as m, json; d = m.distribution('litellm');"
        "print(json.dumps([d.version, json.loads(d.read_text('FORK_PROVENANCE.json'))]))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout
    version, provenance = json.loads(out)
    return version, provenance


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_install_from_the_served_index_and_proxy_one_request(
    tmp_path: Path, index_url: str, installer: str
) -> None:
    wheel = indexed_wheel()
    version = wheel.name.split("-")[1]
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    for command in install_commands(installer, venv, index_url, f"litellm[proxy]=={version}"):
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=INSTALL_TIMEOUT_S, check=False
        )
        if done.returncode and installer == "pip":
            skip_if_only_overrides_help(done.stderr)
        assert done.returncode == 0, f"{command[:4]}: {done.stderr[-3000:]}"
    python = venv / "bin" / "python"
    got_version, provenance = installed(python)
    assert got_version == version
    sidecar = wheel.with_name(f"{wheel.name}.FORK_PROVENANCE.json")
    assert provenance == json.loads(sidecar.read_text())

    upstream = start_fake_anthropic()
    proxy = start_proxy(
        ProxySpec(installer, MASTER_KEY, SERVER_KEY), upstream, tmp_path / "proxy", str(python)
    )
    try:
        wait_until_ready([proxy], STARTUP_TIMEOUT_S)
        headers = {"Authorization": f"Bearer {OAUTH_TOKEN}", "x-litellm-api-key": MASTER_KEY}
        response = httpx.post(
            f"{proxy.url}/anthropic/v1/messages",
            headers=headers,
            json=claude_code_body(stream=False),
            timeout=30.0,
            trust_env=False,
        )
    finally:
        stop_proxies([proxy])
        stop_fake_anthropic(upstream)
    assert response.status_code == 200, response.text
    assert_credentials(upstream.only_request(), None, f"Bearer {OAUTH_TOKEN}")
    assert_secret_nowhere(upstream.requests, MASTER_KEY)
