"""upstream/overrides.txt: parsing, and how `upstream-versions` classifies releases with it.

The classification runs the real `uv pip compile` against synthetic wheels on a loopback index.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from packaging.version import Version

from forkkit.cli import main
from forkkit.errors import ForkKitError
from forkkit.overrides import OVERRIDES_PATH, load_overrides
from forkkit.pin import Pin, save_pin
from forkkit.project import Project
from forkkit.rebase import rebase
from forkkit.report import report_paths
from forkkit.versions import NOT_AT_ALL, PLAIN, WITH_OVERRIDES, candidates, choose_target
from tests.toolkit.fakes import FakeIndex
from tests.toolkit.rebasing import HEADERS, author, publish

OVERRIDES = """# header, not attached to any line

# demo >= 1.1 pins demo-extras 2.0; the index has 1.0. Remove when it has 2.0.
demo-extras==1.0
"""


def wheel_bytes(name: str, version: str, requires: list[str]) -> bytes:
    """A minimal wheel whose METADATA carries `requires` as Requires-Dist lines."""
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "Provides-Extra: proxy\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{dist_info}/METADATA", metadata)
        archive.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        archive.writestr(f"{dist_info}/RECORD", "")
    return buffer.getvalue()


def publish_wheel(index, name: str, version: str, requires: list[str]) -> None:  # type: ignore[no-untyped-def]
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    index.publish_file(name, filename, wheel_bytes(name, version, requires))


@pytest.fixture
def releases(index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    """demo 1.0 (the pin) … 1.4, each newer release's [proxy] extra a different case."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    publish_wheel(index, "demo-extras", "1.0", [])
    publish_wheel(index, "demo", "1.0", [])
    publish_wheel(index, "demo", "1.1", ["demo-extras==2.0 ; extra == 'proxy'"])
    publish_wheel(index, "demo", "1.2", ["demo-extras==1.0 ; extra == 'proxy'"])
    publish_wheel(index, "demo", "1.3", ["demo-missing==1 ; extra == 'proxy'"])
    publish_wheel(index, "demo", "1.4", ["demo-extras==2.0 ; extra == 'proxy'"])
    root = tmp_path / "repo"
    (root / "upstream").mkdir(parents=True)
    (root / OVERRIDES_PATH).write_text(OVERRIDES)
    save_pin(PIN, root / "upstream" / "pin.toml")
    return root


PIN = Pin("demo", "1.0", "index", sha256="0" * 64, artifact="demo-1.0.tar.gz")


def test_each_override_keeps_its_reason(tmp_path: Path) -> None:
    (tmp_path / "upstream").mkdir()
    (tmp_path / OVERRIDES_PATH).write_text(OVERRIDES)
    overrides = load_overrides(tmp_path)
    assert overrides.requirements() == ["demo-extras==1.0"]
    assert overrides.entries[0].reason.startswith("demo >= 1.1 pins demo-extras 2.0")
    assert overrides.uv_args() == ["--override", str(tmp_path / OVERRIDES_PATH)]
    assert overrides.record()["requirements"] == ["demo-extras==1.0"]


def test_no_file_means_no_overrides(tmp_path: Path) -> None:
    overrides = load_overrides(tmp_path)
    assert overrides.uv_args() == []
    assert "no uv overrides" in overrides.describe()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("demo-extras==1.0\n", "needs a comment above it"),
        ("# why\ndemo extras ==\n", "not a requirement"),
    ],
)
def test_bad_override_file_is_one_line(tmp_path: Path, text: str, complaint: str) -> None:
    (tmp_path / "upstream").mkdir()
    (tmp_path / OVERRIDES_PATH).write_text(text)
    with pytest.raises(ForkKitError, match=complaint) as caught:
        load_overrides(tmp_path)
    assert "\n" not in str(caught.value)


def test_every_newer_release_is_classified(releases: Path) -> None:
    found = candidates(PIN, load_overrides(releases))
    assert [(str(c.version), c.installs) for c in found] == [
        ("1.1", WITH_OVERRIDES),
        ("1.2", PLAIN),
        ("1.3", NOT_AT_ALL),
        ("1.4", WITH_OVERRIDES),
    ]


def test_latest_resolving_counts_what_installs_with_the_overrides(releases: Path) -> None:
    overrides = load_overrides(releases)
    assert choose_target(PIN, "latest-resolving", overrides=overrides) == Version("1.4")
    assert choose_target(PIN, "latest-resolving") == Version("1.2")


def test_versions_verb_names_the_newest_of_each_kind(
    releases: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--root", str(releases), "versions"]) == 0
    out = capsys.readouterr().out
    assert "uv overrides from upstream/overrides.txt: demo-extras==1.0" in out
    assert f"newest release that {PLAIN}: 1.2" in out
    assert f"newest release that {WITH_OVERRIDES}: 1.4" in out
    assert f"newest release that {NOT_AT_ALL}: 1.3" in out


def test_the_rebase_report_records_the_overrides(project: Project, index: FakeIndex) -> None:
    (project.root / OVERRIDES_PATH).write_text(OVERRIDES)
    author(project)
    publish(index, "1.1", HEADERS)
    report = rebase(project, "1.1")
    assert report.overrides == ["demo-extras==1.0"]
    markdown = report_paths(project.root)[0].read_text()
    assert "## Test environment overrides (upstream/overrides.txt)" in markdown
    assert "- `demo-extras==1.0`" in markdown
