"""Claude Code -> the patched proxy's /anthropic route -> a recording fake Anthropic, per set-up.

Each case runs the CLI twice with identical identities: straight at a fake Anthropic (what the CLI
sends) and through the proxy (what Anthropic receives); the two requests are compared.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.behaviour.checks import assert_credentials, betas
from tests.behaviour.constants import (
    CLIENT_KEY,
    MASTER_KEY,
    OAUTH_BETA,
    OAUTH_TOKEN,
    P0002_CALLER_LITELLM_KEY,
    P0003_CLIENT_CREDENTIALS,
    SERVER_KEY,
    UPSTREAM_KEEPS_CLIENT_AUTHORIZATION,
    UPSTREAM_LETS_ANTHROPIC_ANSWER_401,
    UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC,
)
from tests.behaviour.fake_upstream import FakeAnthropic
from tests.behaviour.live_proxy import LiveProxy

from .checks import ANSWER, assert_arrived_intact
from .cli import RUN_TIMEOUT_S, CliRun, fresh_home, run_claude
from .egress import EgressTrap

# How the pinned CLI reports a 401 from its API in print mode.
CLI_SAYS_401 = "Invalid API key"
LITELLM_KEY_HEADER = {"ANTHROPIC_CUSTOM_HEADERS": f"x-litellm-api-key: Bearer {MASTER_KEY}"}


@dataclass(frozen=True)
class Case:
    id: str
    proxy: str  # a key of conftest.SPECS
    credentials: dict[str, str]  # the CLI's environment
    x_api_key: str | None  # what Anthropic must receive (None: no such header)
    authorization: str | None
    marks: list[pytest.MarkDecorator] = field(default_factory=list)
    answered_401: bool = False


CASES = [
    Case(
        "oauth-token-and-litellm-key-header",
        "main",
        {"CLAUDE_CODE_OAUTH_TOKEN": OAUTH_TOKEN, **LITELLM_KEY_HEADER},
        x_api_key=None,
        authorization=f"Bearer {OAUTH_TOKEN}",
        marks=[
            pytest.mark.fixed_by(
                P0003_CLIENT_CREDENTIALS, upstream_ok=UPSTREAM_KEEPS_CLIENT_AUTHORIZATION
            )
        ],
    ),
    Case(
        "auth-token-is-litellm-key",
        "main",
        {"ANTHROPIC_AUTH_TOKEN": MASTER_KEY},
        x_api_key=SERVER_KEY,
        authorization=None,
        marks=[
            pytest.mark.fixed_by(
                P0002_CALLER_LITELLM_KEY, upstream_ok=UPSTREAM_STRIPS_CALLER_SECRET_ON_ANTHROPIC
            )
        ],
    ),
    Case(  # the credential holds upstream too: the server key overwrites x-api-key there
        "api-key-is-litellm-key",
        "main",
        {"ANTHROPIC_API_KEY": MASTER_KEY},
        x_api_key=SERVER_KEY,
        authorization=None,
    ),
    Case(
        "byok-api-key-and-litellm-key-header",
        "main",
        {"ANTHROPIC_API_KEY": CLIENT_KEY, **LITELLM_KEY_HEADER},
        x_api_key=CLIENT_KEY,
        authorization=None,
        marks=[pytest.mark.fixed_by(P0003_CLIENT_CREDENTIALS)],
    ),
    Case(
        "no-upstream-credential",
        "no_server_key",
        {"ANTHROPIC_API_KEY": MASTER_KEY},
        x_api_key=None,
        authorization=None,
        marks=[
            pytest.mark.fixed_by(
                P0003_CLIENT_CREDENTIALS, upstream_ok=UPSTREAM_LETS_ANTHROPIC_ANSWER_401
            )
        ],
        answered_401=True,
    ),
]


def run_both(
    claude_cli: Path,
    tmp_path: Path,
    direct_upstream: FakeAnthropic,
    proxy: LiveProxy,
    base_path: str,
    credentials: dict[str, str],
    cli_egress: EgressTrap,
) -> tuple[CliRun, CliRun]:
    """The CLI straight at a fake Anthropic, then through the proxy; both fakes start empty.

    Both runs get a fresh HOME at the same path: the CLI puts its working directory in the prompt.
    """
    direct_upstream.reset()
    proxy.upstream.reset()
    home = fresh_home(tmp_path / "home")
    direct = run_claude(
        claude_cli, home, direct_upstream.url, credentials, egress_proxy=cli_egress.url
    )
    assert direct.returncode == 0, f"the CLI failed without the proxy: {direct.stderr}"
    shutil.rmtree(home)
    home = fresh_home(home)
    proxied = run_claude(
        claude_cli, home, proxy.url + base_path, credentials, egress_proxy=cli_egress.url
    )
    assert cli_egress.attempts == [], (
        f"the CLI tried to reach beyond loopback: {cli_egress.attempts}"
    )
    return direct, proxied


# Every case compares the whole body, metadata.user_id included (upstream forwards it to
# Anthropic itself since 1.109, so the series no longer patches it).
@pytest.mark.parametrize("case", [pytest.param(c, marks=c.marks, id=c.id) for c in CASES])
def test_claude_code_through_the_anthropic_route(
    claude_cli: Path,
    cli_proxies: dict[str, LiveProxy],
    direct_upstream: FakeAnthropic,
    tmp_path: Path,
    cli_egress: EgressTrap,
    case: Case,
) -> None:
    proxy = cli_proxies[case.proxy]
    args = (
        claude_cli,
        tmp_path,
        direct_upstream,
        proxy,
        "/anthropic",
        case.credentials,
        cli_egress,
    )
    _, run = run_both(*args)
    sent = direct_upstream.only_request()
    received = list(proxy.upstream.requests)
    assert received, f"nothing reached Anthropic; CLI said: {run.stdout}{run.stderr}"
    assert_arrived_intact(sent, received)
    for got in received:
        assert_credentials(got, case.x_api_key, case.authorization)
    if case.authorization == f"Bearer {OAUTH_TOKEN}":
        assert OAUTH_BETA in betas(received[0])
    if case.answered_401:
        # Anthropic's 401 (every request upstream was answered 401: it carried no credential),
        # shown the way the CLI shows a 401, and the CLI gave up by itself.
        assert run.returncode != 0, run.stdout
        assert run.seconds < RUN_TIMEOUT_S
        assert CLI_SAYS_401 in run.stdout + run.stderr
    else:
        assert len(received) == 1
        assert run.returncode == 0, run.stderr
        assert ANSWER in run.stdout
