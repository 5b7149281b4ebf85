"""The real Claude Code CLI against the patched proxy (run by `nox -s claude-code`).

`fixed_by` marks and `--negative-control` work as in tests/behaviour, whose hooks are reused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.behaviour import conftest as behaviour
from tests.behaviour.constants import MASTER_KEY, SERVER_KEY
from tests.behaviour.fake_upstream import FakeAnthropic, start_fake_anthropic, stop_fake_anthropic
from tests.behaviour.launcher import (  # noqa: F401
    Boot,
    ProxySet,
    _launched_proxies,
    pytest_collection_finish,
    pytest_sessionstart,
)
from tests.behaviour.live_proxy import LiveProxy, ProxySpec

from .cli import CLI_ENV, cli_path
from .egress import EgressTrap, egress_trap

pytest_collection_modifyitems = behaviour.pytest_collection_modifyitems
pytest_report_collectionfinish = behaviour.pytest_report_collectionfinish

# A model_list deployment for the unified /v1/messages route, on the fake Anthropic base
# (the proxy's ANTHROPIC_API_BASE points at the fake; see live_proxy.proxy_env).
UNIFIED_MODEL = "claude-via-litellm"
UNIFIED_SETTINGS = {
    "forward_client_headers_to_llm_api": True,
    "forward_llm_provider_auth_headers": True,
}
# Few proxies: on a loaded 2-core machine every boot counts. The unified-route settings only act
# on model_list routes, so the /anthropic cases on "main" are unaffected by them.
SPECS = {
    "main": ProxySpec(
        "main",
        MASTER_KEY,
        SERVER_KEY,
        model_list=[
            {
                "model_name": UNIFIED_MODEL,
                "litellm_params": {
                    "model": "anthropic/claude-sonnet-4-5",
                    "api_base": "os.environ/ANTHROPIC_API_BASE",
                },
            }
        ],
        general_settings=UNIFIED_SETTINGS,
    ),
    "no_server_key": ProxySpec("no_server_key", MASTER_KEY, None),
    # a personal proxy for a Claude subscription (BerriAI/litellm#42170): no master key, no
    # server key, a deployment without a key of its own, client headers forwarded
    "open": ProxySpec(
        "open",
        None,
        None,
        model_list=[
            {
                "model_name": UNIFIED_MODEL,
                "litellm_params": {"model": "anthropic/claude-sonnet-4-5"},
            }
        ],
        general_settings={"forward_client_headers_to_llm_api": True},
    ),
}
# Generous: booting LiteLLM on a busy 2-core machine.
STARTUP_TIMEOUT_S = 300.0


def pytest_addoption(parser: pytest.Parser) -> None:
    with contextlib.suppress(ValueError):  # tests/behaviour in the same run added it already
        behaviour.pytest_addoption(parser)


@pytest.fixture(scope="session")
def claude_cli() -> Path:
    path = cli_path()
    if path is None:
        pytest.skip(f"{CLI_ENV} is not set; `nox -s claude-code` installs the CLI and sets it")
    assert path.exists(), f"{CLI_ENV}={path} does not exist"
    return path


def _boot(boot: Boot) -> dict[str, LiveProxy]:
    """One proxy per configuration, each with its own recording fake Anthropic."""
    return {name: boot.proxy(spec, boot.fake()) for name, spec in SPECS.items()}


# Booted by the launcher with every other set when the session starts (tests/behaviour/launcher.py)
CLI_PROXIES = ProxySet("cli_proxies", _boot, timeout_s=STARTUP_TIMEOUT_S)
cli_proxies = CLI_PROXIES.fixture()


@pytest.fixture(scope="session")
def direct_upstream() -> Iterator[FakeAnthropic]:
    """A fake Anthropic the CLI talks to without a proxy: what the CLI itself sends."""
    fake = start_fake_anthropic()
    yield fake
    stop_fake_anthropic(fake)


@pytest.fixture(scope="session")
def cli_egress() -> Iterator[EgressTrap]:
    """Where the CLI's non-loopback traffic would go; every test checks it stayed empty."""
    with egress_trap() as trap:
        yield trap
