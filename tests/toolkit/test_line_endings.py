"""A release that switches a patched file between LF and CRLF is not a conflict.

Both directions, on synthetic releases: the rebase completes unattended, the checkout's file
keeps the new release's endings, the exported patch follows them, and the wheel differs from
upstream's only in the patch's own lines.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from forkkit.apply import apply
from forkkit.build import build
from forkkit.eol import convert, endings
from forkkit.export import export
from forkkit.pin import Pin, load_pin
from forkkit.project import Project
from forkkit.rebase import rebase
from forkkit.release import bump
from forkkit.series import load_series
from tests.toolkit.fakes import (
    BASE_FILES,
    PATCH_MESSAGE,
    FakeIndex,
    commit_edit,
    make_project,
    make_sdist,
)
from tests.toolkit.synthetic_wheels import make_wheel

HEADERS = BASE_FILES["demo/headers.py"]


def files(version: str, crlf: bool) -> dict[str, str]:
    headers = HEADERS.replace("\n", "\r\n") if crlf else HEADERS
    return {**BASE_FILES, "demo/headers.py": headers, "demo/__init__.py": f"V = '{version}'\n"}


def publish(index: FakeIndex, tmp_path: Path, version: str, crlf: bool) -> str:
    """An sdist and a pure wheel of demo <version>, headers.py in the given endings."""
    content = files(version, crlf)
    shipped = {p: t.encode() for p, t in content.items() if p.startswith("demo/")}
    wheel = make_wheel(tmp_path / f"wheel-{version}", "demo", version, "py3-none-any", shipped)
    index.publish_file("demo", wheel.name, wheel.read_bytes())
    return index.publish("demo", version, make_sdist("demo", version, content))


@pytest.fixture(params=[(False, True), (True, False)], ids=["LF-to-CRLF", "CRLF-to-LF"])
def switch(request: pytest.FixtureRequest) -> tuple[bool, bool]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def patched(tmp_path: Path, index: FakeIndex, switch: tuple[bool, bool]) -> Project:
    """demo 1.0 in the first endings with a two-patch series; 1.1 in the other endings."""
    old_crlf, new_crlf = switch
    sha256 = publish(index, tmp_path, "1.0", old_crlf)
    pin = Pin("demo", "1.0", "index", sha256=sha256, artifact="demo-1.0.tar.gz")
    project = make_project(tmp_path / "eol-project", pin)
    checkout = apply(project).checkout
    for old, new in (("line 5", "line five"), ("line 30", "line thirty")):
        message = PATCH_MESSAGE.format(subject=f"headers: spell out {old}")
        commit_edit(
            checkout,
            "demo/headers.py",
            f"{old}\n" if not old_crlf else f"{old}\r\n",
            f"{new}\n" if not old_crlf else f"{new}\r\n",
            message,
        )
    export(project)
    bump(project.release_file, load_series(project.series_file))
    publish(index, tmp_path, "1.1", new_crlf)
    return project


def test_rebase_follows_the_new_endings_unattended(
    patched: Project, switch: tuple[bool, bool]
) -> None:
    new_crlf = switch[1]
    report = rebase(patched, "1.1")
    assert report.result == "rebased"
    outcomes = report.steps[0].outcomes
    assert [o.status for o in outcomes] == ["clean", "clean"]
    assert all("line endings followed upstream: demo/headers.py" in o.detail for o in outcomes)
    assert report.steps[0].range_diff == ""  # every line's ending changed, nothing else did
    assert load_pin(patched.pin_file).version == "1.1"
    text = (patched.checkout_dir / "demo/headers.py").read_bytes()
    assert endings(text) == ("CRLF" if new_crlf else "LF")
    assert text.count(b"\r\n") == (text.count(b"\n") if new_crlf else 0)
    for patch in load_series(patched.series_file).paths():
        hunk_lines = [
            line
            for line in patch.read_bytes().splitlines(keepends=True)
            if line[:1] in (b"+", b"-") and b"line " in line
        ]
        assert hunk_lines and all(line.endswith(b"\r\n") == new_crlf for line in hunk_lines)


def test_wheel_differs_from_upstream_only_in_the_patch_lines(
    patched: Project, tmp_path: Path, switch: tuple[bool, bool]
) -> None:
    rebase(patched, "1.1")
    (wheel,) = build(patched)
    eol = "\r\n" if switch[1] else "\n"
    expected = files("1.1", switch[1])["demo/headers.py"]
    expected = expected.replace(f"line 5{eol}", f"line five{eol}")
    expected = expected.replace(f"line 30{eol}", f"line thirty{eol}")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("demo/headers.py") == expected.encode()


def test_convert_walks_hunks_by_their_counts() -> None:
    patch = (
        b"Subject: x\n---\ndiff --git a/f.py b/f.py\n--- a/f.py\n+++ b/f.py\n"
        b"@@ -1,2 +1,2 @@\n a\n--- \n+++ \n"
        b"diff --git a/g.py b/g.py\n--- a/g.py\n+++ b/g.py\n@@ -1 +1 @@\n-b\n+c\n"
        b"-- \n2.43.0\n"
    )
    converted = convert(patch, {"f.py": True})
    assert b" a\r\n--- \r\n+++ \r\n" in converted  # content lines that look like headers
    assert b"-b\n+c\n-- \n2.43.0\n" in converted  # another file, and the signature, untouched
    assert convert(converted, {"f.py": False}) == patch


def test_a_switch_with_a_moved_context_still_merges_three_way(
    patched: Project, index: FakeIndex, tmp_path: Path, switch: tuple[bool, bool]
) -> None:
    """The shape of 1.82.0: new endings, and upstream also rewrote lines around the patch."""
    new_crlf = switch[1]
    content = files("1.2", new_crlf)
    eol = "\r\n" if new_crlf else "\n"
    content["demo/headers.py"] = content["demo/headers.py"].replace(
        f"line 3{eol}", f"line 3 reworded{eol}"
    )
    index.publish("demo", "1.2", make_sdist("demo", "1.2", content))
    report = rebase(patched, "1.2")
    assert [o.status for o in report.steps[0].outcomes] == ["3-way", "clean"]
    text = (patched.checkout_dir / "demo/headers.py").read_bytes()
    assert f"line 3 reworded{eol}line 4{eol}line five{eol}".encode() in text
    assert endings(text) == ("CRLF" if new_crlf else "LF")
    assert text.count(b"\r\n") == (text.count(b"\n") if new_crlf else 0)
