"""The scripts release.yml calls: each one's --dry-run, and what it does with fake gh and nox."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.toolkit.synthetic_wheels import make_wheel

CI = Path(__file__).resolve().parents[2] / "ci"
VERSION = "1.0+fork.3"
TAG = f"v{VERSION}"
PROVENANCE = {"upstream": {"version": "1.0"}, "patches": [{"name": "0001-fix.patch"}]}

# A stand-in for gh and nox: logs every call; `gh release list` prints FAKE_LIST, `gh release
# view` fails unless FAKE_RELEASED; `nox -s build` writes a wheel into dist/ whose bytes include
# FAKE_BUILD_SALT's value when that names a variable (an unreproducible build).
FAKE = """#!{python}
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({{"tool": os.path.basename(sys.argv[0]), "args": args}}) + "\\n")
if args[:2] == ["release", "list"]:
    print(os.environ.get("FAKE_LIST", "[]"))
elif args[:2] == ["release", "view"] and not os.environ.get("FAKE_RELEASED"):
    sys.stderr.write("release not found\\n")
    sys.exit(1)
elif args == ["-s", "build"]:
    salt = os.environ.get(os.environ.get("FAKE_BUILD_SALT", ""), "")
    Path("dist").mkdir(exist_ok=True)
    Path("dist/demo-1.0+fork.3-py3-none-any.whl").write_bytes(b"wheel bytes" + salt.encode())
"""


def fork_wheel(directory: Path, version: str = VERSION) -> Path:
    provenance = json.dumps(PROVENANCE).encode()
    files = {
        "demo/__init__.py": b"",
        f"demo-{version}.dist-info/FORK_PROVENANCE.json": provenance,
    }
    return make_wheel(directory, "demo", version, "py3-none-any", files)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    for tool in ("gh", "nox"):
        path = bin_dir / tool
        path.write_text(FAKE.format(python=sys.executable))
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    environment = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_OUTPUT")}
    environment["PATH"] = f"{bin_dir}{os.pathsep}{environment['PATH']}"
    environment["FAKE_LOG"] = str(tmp_path / "calls.jsonl")
    return environment


def calls(env: dict[str, str]) -> list[list[str]]:
    log = Path(env["FAKE_LOG"])
    lines = log.read_text().splitlines() if log.exists() else []
    return [[json.loads(line)["tool"], *json.loads(line)["args"]] for line in lines]


def script(
    name: str, *args: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CI / name), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def one_line_error(done: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert done.returncode == code, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert words in done.stderr


# --- release_assets.py ---------------------------------------------------------------------------


def test_assets_dry_run_names_the_assets_and_writes_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    wheel = fork_wheel(tmp_path / "dist")
    done = script("release_assets.py", "--dry-run", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"sha256: {hashlib.sha256(wheel.read_bytes()).hexdigest()}" in done.stdout
    assert f"tag={TAG}" in done.stdout.splitlines()
    assert not (tmp_path / "release-out").exists()


def test_assets_are_the_wheel_its_checksum_and_its_provenance(
    tmp_path: Path, env: dict[str, str]
) -> None:
    wheel = fork_wheel(tmp_path / "dist")
    output = tmp_path / "github-output"
    done = script(
        "release_assets.py",
        "--ref-type",
        "tag",
        "--ref-name",
        TAG,
        env={**env, "GITHUB_OUTPUT": str(output)},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / "release-out"
    assert (out / wheel.name).read_bytes() == wheel.read_bytes()
    check = subprocess.run(
        ["sha256sum", "-c", f"{wheel.name}.sha256"], cwd=out, capture_output=True, check=False
    )
    assert check.returncode == 0, check.stdout
    assert json.loads((out / "FORK_PROVENANCE.json").read_text()) == PROVENANCE
    assert f"version={VERSION}" in output.read_text().splitlines()


def test_assets_refuse_a_tag_that_names_another_version(
    tmp_path: Path, env: dict[str, str]
) -> None:
    fork_wheel(tmp_path / "dist")
    args = ("--ref-type", "tag", "--ref-name", "v1.0+fork.2")
    done = script("release_assets.py", *args, env=env, cwd=tmp_path)
    one_line_error(done, 2, f"expected {TAG}")


def test_assets_need_exactly_one_wheel(tmp_path: Path, env: dict[str, str]) -> None:
    fork_wheel(tmp_path / "dist")
    fork_wheel(tmp_path / "dist", "1.0+fork.4")
    done = script("release_assets.py", "--dry-run", env=env, cwd=tmp_path)
    one_line_error(done, 2, "expected exactly one wheel")


# --- reproducible_build.py -----------------------------------------------------------------------


def test_rebuild_dry_run_runs_no_build(tmp_path: Path, env: dict[str, str]) -> None:
    done = script("reproducible_build.py", "--dry-run", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "FORKKIT_CACHE=<empty>" in done.stdout
    assert calls(env) == []


def test_rebuild_passes_when_both_builds_are_identical(tmp_path: Path, env: dict[str, str]) -> None:
    done = script("reproducible_build.py", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert calls(env) == [["nox", "-s", "build"], ["nox", "-s", "build"]]
    assert "reproducible: demo-1.0+fork.3-py3-none-any.whl" in done.stdout
    assert [p.name for p in (tmp_path / "dist").iterdir()] == ["demo-1.0+fork.3-py3-none-any.whl"]


def test_rebuild_fails_when_the_builds_differ(tmp_path: Path, env: dict[str, str]) -> None:
    # The fake build's bytes include the cache path, which the second build changes.
    done = script(
        "reproducible_build.py", env={**env, "FAKE_BUILD_SALT": "FORKKIT_CACHE"}, cwd=tmp_path
    )
    one_line_error(done, 1, "the two builds differ")


# --- publish_release.py --------------------------------------------------------------------------


def release_out(tmp_path: Path, env: dict[str, str]) -> Path:
    fork_wheel(tmp_path / "dist")
    assert script("release_assets.py", env=env, cwd=tmp_path).returncode == 0
    return tmp_path / "release-out"


PUBLISH = ("--repository", "Owner/fork-kit", "--target", "0" * 40)


def test_publish_dry_run_prints_the_release_and_calls_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    out = release_out(tmp_path, env)
    done = script("publish_release.py", "--dry-run", *PUBLISH, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"tag: {TAG}" in done.stdout
    digest = (out / f"demo-{VERSION}-py3-none-any.whl.sha256").read_text().split()[0]
    assert f"- sha256: `{digest}`" in done.stdout
    assert "--extra-index-url https://owner.github.io/fork-kit/simple/" in done.stdout
    assert "- `0001-fix.patch`" in done.stdout
    assert calls(env) == []


def test_publish_creates_the_release_with_its_three_assets(
    tmp_path: Path, env: dict[str, str]
) -> None:
    release_out(tmp_path, env)
    done = script("publish_release.py", *PUBLISH, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    view, create = calls(env)
    assert view == ["gh", "release", "view", TAG]
    assert create[:4] == ["gh", "release", "create", TAG]
    assets = [Path(a).name for a in create[4:7]]
    wheel = f"demo-{VERSION}-py3-none-any.whl"
    assert assets == [wheel, f"{wheel}.sha256", "FORK_PROVENANCE.json"]


def test_publish_leaves_an_existing_release_alone(tmp_path: Path, env: dict[str, str]) -> None:
    release_out(tmp_path, env)
    done = script("publish_release.py", *PUBLISH, env={**env, "FAKE_RELEASED": "1"}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "exists already" in done.stdout
    assert [c[:3] for c in calls(env)] == [["gh", "release", "view"]]


# --- collect_released_wheels.py ------------------------------------------------------------------

RELEASES = json.dumps(
    [
        {"tagName": "v1.0+fork.2", "isDraft": False},
        {"tagName": "v1.0+fork.1", "isDraft": False},
        {"tagName": "v1.0+fork.3", "isDraft": True},
        {"tagName": "toolkit-0.1", "isDraft": False},
    ]
)


def test_collect_dry_run_lists_the_releases_and_downloads_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    args = ("--dry-run", "--dest", "site/simple/demo")
    done = script(
        "collect_released_wheels.py", *args, env={**env, "FAKE_LIST": RELEASES}, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["release: v1.0+fork.1", "release: v1.0+fork.2"]
    assert [c[1:3] for c in calls(env)] == [["release", "list"]]


def test_collect_downloads_each_published_release_wheel(
    tmp_path: Path, env: dict[str, str]
) -> None:
    args = ("--dest", "site/simple/demo")
    done = script(
        "collect_released_wheels.py", *args, env={**env, "FAKE_LIST": RELEASES}, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    downloads = [c for c in calls(env) if c[1:3] == ["release", "download"]]
    assert [c[3] for c in downloads] == ["v1.0+fork.1", "v1.0+fork.2"]
    assert all(
        c[4:] == ["--pattern", "*.whl", "--dir", "site/simple/demo", "--skip-existing"]
        for c in downloads
    )
