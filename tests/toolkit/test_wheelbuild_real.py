"""The wheel builder on a real compiled LiteLLM release's platform wheel (needs the index)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.tags import Tag, sys_tags

from forkkit.digest import sha256_of
from forkkit.wheelbuild import build_patched_wheel, diff_wheels
from tests.toolkit.synthetic_wheels import install_into_fresh_venv, record_problems, run_python

pytestmark = pytest.mark.network

RELEASE = "1.109.1"
TAG = "cp310-abi3-manylinux_2_28_x86_64"
PATCHED_PATH = "litellm/passthrough/utils.py"


def download_platform_wheel(dest: Path) -> Path:
    """``pip download`` the release's manylinux wheel, whatever platform runs the test."""
    if importlib.util.find_spec("pip"):
        pip = [sys.executable, "-m", "pip"]
    elif shutil.which("pip"):
        pip = [str(shutil.which("pip"))]
    else:
        pytest.skip("pip is needed to download the upstream wheel")
    command = [*pip, "download", "--quiet", "--no-deps", "--only-binary", ":all:"]
    command += ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11"]
    command += ["--disable-pip-version-check", "-d", str(dest), f"litellm=={RELEASE}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"pip download failed:\n{result.stderr}"
    (wheel,) = dest.glob("*.whl")
    assert wheel.name == f"litellm-{RELEASE}-{TAG}.whl"
    return wheel


def test_compiled_release_platform_wheel_is_patched_and_installs(tmp_path: Path) -> None:
    upstream = download_platform_wheel(tmp_path / "download")
    with zipfile.ZipFile(upstream) as archive:
        original = archive.read(PATCHED_PATH)
    patched = original + b"\n# patched by the fork kit's network test\n"

    built = build_patched_wheel(
        upstream,
        {PATCHED_PATH: patched},
        "fork.1",
        {"upstream": {"wheel": upstream.name, "sha256": sha256_of(upstream)}},
        tmp_path / "out",
        expected_originals={PATCHED_PATH: original},
    )

    assert built.name == f"litellm-{RELEASE}+fork.1-{TAG}.whl"
    assert diff_wheels(upstream, built) == sorted(
        [
            PATCHED_PATH,
            "*.dist-info/FORK_PROVENANCE.json",
            "*.dist-info/METADATA",
            "*.dist-info/RECORD",
        ]
    )
    assert record_problems(built) == []
    if Tag("cp310", "abi3", "manylinux_2_28_x86_64") not in set(sys_tags()):
        pytest.skip(f"built and checked, but this interpreter cannot install {TAG} wheels")
    python = install_into_fresh_venv(built, tmp_path / "venv")
    probe = (
        "import importlib.metadata as m\n"
        "d = m.distribution('litellm')\n"
        f"print(m.version('litellm'), d.locate_file({PATCHED_PATH!r}).read_bytes() == {patched!r})"
    )
    assert run_python(python, probe) == f"{RELEASE}+fork.1 True"
