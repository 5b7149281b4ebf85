"""`forkkit claude-cli`: the pinned Claude Code CLI, installed once per pin with fake node/npm."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from forkkit.claude_cli import PIN_FILES, install_cli, pin_dir, tools_missing
from forkkit.cli import main
from forkkit.errors import ForkKitError
from forkkit.project import Project

REPO = Path(__file__).resolve().parents[2]

# `npm ci` stand-in: logs the call, then installs a `claude` that prints the pinned version.
FAKE_NPM = """#!/bin/sh
echo "$PWD" >> "$FAKE_NPM_LOG"
mkdir -p node_modules/.bin
printf '#!/bin/sh\\necho 2.1.332 "(Claude Code)"\\n' > node_modules/.bin/claude
chmod +x node_modules/.bin/claude
"""


def fake_tool(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_NPM_LOG", str(tmp_path / "npm.log"))
    return bin_dir


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "repo"
    pins = pin_dir(Project(root))
    pins.mkdir(parents=True)
    for name in PIN_FILES:
        shutil.copy2(pin_dir(Project(REPO)) / name, pins / name)
    return Project(root)


def test_the_repository_pins_one_exact_version_without_a_registry_host() -> None:
    pins = pin_dir(Project(REPO))
    wanted = json.loads((pins / "package.json").read_text())["dependencies"]
    version = wanted["@anthropic-ai/claude-code"]
    assert version[0].isdigit(), f"not an exact version: {version}"
    lock = json.loads((pins / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@anthropic-ai/claude-code"]["version"] == version
    assert "://" not in (pins / "package-lock.json").read_text()  # npm uses the user's registry


def test_missing_node_and_npm_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no node, no npm
    assert tools_missing() == "node and npm not found on PATH; the Claude Code CLI needs node >= 18"


def test_old_node_is_refused(fake_bin: Path) -> None:
    fake_tool(fake_bin, "npm", "#!/bin/sh\nexit 0\n")
    fake_tool(fake_bin, "node", "#!/bin/sh\necho v16.20.2\n")
    assert tools_missing() == "node v16.20.2 is too old; Claude Code needs >= 18"


def test_installs_once_per_pin_and_reuses_the_cache(fake_bin: Path, project: Project) -> None:
    fake_tool(fake_bin, "node", "#!/bin/sh\necho v22.1.0\n")
    fake_tool(fake_bin, "npm", FAKE_NPM)
    first = install_cli(project)
    assert first.is_file() and project.cache_dir in first.parents
    assert install_cli(project) == first
    log = Path(str(fake_bin.parent / "npm.log")).read_text().splitlines()
    assert len(log) == 1, "a warm run must not run npm again"
    lock = pin_dir(project) / "package-lock.json"
    lock.write_text(lock.read_text().replace("2.1.332", "2.1.333"))
    assert install_cli(project) != first  # a new pin installs beside the old one


def test_failed_npm_is_one_line(
    fake_bin: Path, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_tool(fake_bin, "node", "#!/bin/sh\necho v22.1.0\n")
    fake_tool(fake_bin, "npm", "#!/bin/sh\necho 'npm error code E404' >&2\nexit 1\n")
    with pytest.raises(ForkKitError, match="npm ci` for the Claude Code CLI failed: npm error"):
        install_cli(project)
    assert main(["--root", str(project.root), "claude-cli"]) == 1
    assert capsys.readouterr().err.count("\n") == 1
