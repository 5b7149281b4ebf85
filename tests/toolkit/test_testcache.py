"""A recorded suite pass is keyed by every file the suite reads, and by nothing else there."""

from __future__ import annotations

from pathlib import Path

from forkkit.testcache import suite_key


def _suite(root: Path) -> tuple[Path, Path, Path]:
    wheel = root / "fake-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    suite = root / "tests" / "behaviour"
    suite.mkdir(parents=True)
    (suite / "test_a.py").write_text("def test_a(): pass\n")
    (suite / "preload.txt").write_text("litellm.proxy\n")
    helper = root / "tests" / "loopback.py"
    helper.write_text("PORT = 0\n")
    return wheel, suite, helper


def test_a_data_file_of_the_suite_is_part_of_the_key(tmp_path: Path) -> None:
    wheel, suite, _ = _suite(tmp_path)
    before = suite_key(wheel, suite, [])
    (suite / "preload.txt").write_text("litellm.proxy\nlitellm.router\n")
    assert suite_key(wheel, suite, []) != before


def test_a_named_helper_file_is_part_of_the_key(tmp_path: Path) -> None:
    wheel, _, helper = _suite(tmp_path)
    before = suite_key(wheel, helper, [])
    helper.write_text("PORT = 1\n")
    assert suite_key(wheel, helper, []) != before


def test_bytecode_caches_are_not(tmp_path: Path) -> None:
    wheel, suite, _ = _suite(tmp_path)
    before = suite_key(wheel, suite, [])
    cache = suite / "__pycache__"
    cache.mkdir()
    (cache / "test_a.cpython-311-pytest-9.2.0.pyc").write_bytes(b"\0bytecode")
    assert suite_key(wheel, suite, []) == before
