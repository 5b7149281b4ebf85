"""Offline tests of the patched-wheel builder on small synthetic upstream wheels."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zipfile
from pathlib import Path

import pytest
from packaging.tags import Tag, sys_tags

from forkkit.digest import sha256_of
from forkkit.errors import ForkKitError
from forkkit.wheelbuild import build_patched_wheel, diff_wheels
from tests.toolkit.synthetic_wheels import (
    EXECUTABLE,
    dist_info_file,
    install_into_fresh_venv,
    make_wheel,
    read_entries,
    record_problems,
    run_python,
)

PATCHED_PATH = "synthpkg/passthrough/utils.py"
ORIGINAL = b"def origin():\n    return 'upstream'\n"
PATCHED = b"def origin():\n    return 'patched by the fork'\n"
SCRIPT = b"#!python\nprint('synth-tool')\n"
SO_BLOB = b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 40
DESCRIPTION = "Long description.\n\nFrom here on the body is free text.\nVersion: 9.9.9\n"
PROVENANCE = {"upstream": {"version": "1.81.12"}, "patches": ["0001-fix.patch"], "ok": True}
COMPILED_TAG = "cp310-abi3-manylinux_2_28_x86_64"


def upstream_files() -> dict[str, bytes | tuple[bytes, int]]:
    return {
        "synthpkg/__init__.py": b"VERSION_NOTE = 'upstream'\n",
        "synthpkg/passthrough/__init__.py": b"",
        PATCHED_PATH: ORIGINAL,
        "synthpkg/proxy/start.sh": (b"#!/bin/sh\necho start\n", EXECUTABLE),
        "{data}/scripts/synth-tool": (SCRIPT, EXECUTABLE),
    }


def make_upstream(directory: Path, tag: str = "py3-none-any", **options: object) -> Path:
    files = upstream_files()
    if tag != "py3-none-any":
        files["synthpkg/_native.abi3.so"] = (SO_BLOB, EXECUTABLE)
    pure = tag == "py3-none-any"
    return make_wheel(
        directory,
        "synthpkg",
        "1.81.12",
        tag,
        files,
        root_is_purelib=pure,
        description=DESCRIPTION,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["py3-none-any", COMPILED_TAG])
def upstream(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return make_upstream(tmp_path / "upstream", request.param)


def build(upstream: Path, out_dir: Path, **overrides: object) -> Path:
    arguments: dict[str, object] = {
        "replacements": {PATCHED_PATH: PATCHED},
        "local_version": "fork.1",
        "provenance": PROVENANCE,
        "out_dir": out_dir,
        "expected_originals": {PATCHED_PATH: ORIGINAL},
    }
    arguments.update(overrides)
    return build_patched_wheel(upstream, **arguments)  # type: ignore[arg-type]


def test_only_the_patched_file_and_dist_info_differ(upstream: Path, tmp_path: Path) -> None:
    built = build(upstream, tmp_path / "out")

    assert diff_wheels(upstream, built) == sorted(
        [
            PATCHED_PATH,
            "*.dist-info/FORK_PROVENANCE.json",
            "*.dist-info/METADATA",
            "*.dist-info/RECORD",
        ]
    )
    assert read_entries(built)[PATCHED_PATH][0] == PATCHED
    assert dist_info_file(built, "WHEEL") == dist_info_file(upstream, "WHEEL")


def test_version_is_rewritten_in_filename_dist_info_and_metadata(
    upstream: Path, tmp_path: Path
) -> None:
    built = build(upstream, tmp_path / "out")
    tags = upstream.name.split("-", 2)[2]

    assert built.name == f"synthpkg-1.81.12+fork.1-{tags}"
    assert built.parent == tmp_path / "out"
    tops = {path.split("/")[0] for path in read_entries(built)}
    assert tops == {"synthpkg", "synthpkg-1.81.12+fork.1.dist-info", "synthpkg-1.81.12+fork.1.data"}
    old = dist_info_file(upstream, "METADATA").decode().splitlines()
    new = dist_info_file(built, "METADATA").decode().splitlines()
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert changed == [("Version: 1.81.12", "Version: 1.81.12+fork.1")]


def test_build_tag_is_kept(tmp_path: Path) -> None:
    plain = make_upstream(tmp_path / "upstream")
    tagged = plain.with_name("synthpkg-1.81.12-7rc-py3-none-any.whl")
    plain.rename(tagged)

    assert build(tagged, tmp_path / "out").name == "synthpkg-1.81.12+fork.1-7rc-py3-none-any.whl"


def test_compiled_wheel_keeps_tags_blob_and_file_modes(tmp_path: Path) -> None:
    upstream = make_upstream(tmp_path / "upstream", COMPILED_TAG)
    built = build(upstream, tmp_path / "out")

    assert built.name == f"synthpkg-1.81.12+fork.1-{COMPILED_TAG}.whl"
    before, after = read_entries(upstream), read_entries(built)
    assert after["synthpkg/_native.abi3.so"] == (SO_BLOB, EXECUTABLE)
    assert after["synthpkg/proxy/start.sh"][1] == EXECUTABLE
    assert after["synthpkg-1.81.12+fork.1.data/scripts/synth-tool"] == (SCRIPT, EXECUTABLE)
    for path, (_, mode) in before.items():
        if not path.startswith("synthpkg-"):
            assert after[path][1] == mode, path


def test_record_is_regenerated_and_valid(upstream: Path, tmp_path: Path) -> None:
    built = build(upstream, tmp_path / "out")

    assert record_problems(upstream) == []  # the checker accepts a good upstream wheel ...
    assert record_problems(built) == []
    record = dist_info_file(built, "RECORD").decode()
    assert "synthpkg-1.81.12+fork.1.dist-info/RECORD,,\n" in record
    assert "1.81.12.dist-info" not in record.replace("1.81.12+fork.1.dist-info", "")


def test_record_checker_catches_a_stale_hash(tmp_path: Path) -> None:
    upstream = make_upstream(tmp_path / "upstream")
    tampered = tmp_path / "tampered" / upstream.name
    tampered.parent.mkdir()
    with zipfile.ZipFile(upstream) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, PATCHED if info.filename == PATCHED_PATH else data)

    assert [p for p in record_problems(tampered) if p.startswith(PATCHED_PATH)]
    with pytest.raises(ForkKitError, match="re-download"):
        build(tampered, tmp_path / "out")


def test_truncated_or_record_less_upstream_is_refused(tmp_path: Path) -> None:
    upstream = make_upstream(tmp_path / "upstream")
    truncated = tmp_path / "truncated" / upstream.name
    truncated.parent.mkdir()
    truncated.write_bytes(upstream.read_bytes()[:-200])
    no_record = tmp_path / "no-record" / upstream.name
    no_record.parent.mkdir()
    with zipfile.ZipFile(upstream) as source, zipfile.ZipFile(no_record, "w") as target:
        for info in source.infolist():
            if not info.filename.endswith("/RECORD"):
                target.writestr(info, source.read(info))

    for broken in (truncated, no_record):
        with pytest.raises(ForkKitError, match="cannot read upstream wheel"):
            build(broken, tmp_path / "out")


def test_provenance_is_written_sorted_and_stable(upstream: Path, tmp_path: Path) -> None:
    built = build(upstream, tmp_path / "out")

    text = dist_info_file(built, "FORK_PROVENANCE.json").decode()
    assert json.loads(text) == PROVENANCE
    assert text == json.dumps(PROVENANCE, sort_keys=True, indent=2) + "\n"
    assert text.index('"ok"') < text.index('"patches"') < text.index('"upstream"')


def test_entries_sorted_dist_info_last_record_very_last(upstream: Path, tmp_path: Path) -> None:
    names = list(read_entries(build(upstream, tmp_path / "out")))

    dist_info = [n for n in names if n.startswith("synthpkg-1.81.12+fork.1.dist-info/")]
    assert names[-len(dist_info) :] == dist_info
    assert names[-1].endswith(".dist-info/RECORD")
    assert names[: -len(dist_info)] == sorted(names[: -len(dist_info)])
    assert dist_info[:-1] == sorted(dist_info[:-1])


def test_two_builds_are_byte_identical_even_at_another_time(
    upstream: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = build(upstream, tmp_path / "one")
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)  # a wall clock must not leak in
    second = build(upstream, tmp_path / "two")

    assert sha256_of(first) == sha256_of(second)
    with zipfile.ZipFile(second) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_same_contents_in_another_zip_layout_build_identically(tmp_path: Path) -> None:
    plain = make_upstream(tmp_path / "plain")
    shuffled = make_upstream(
        tmp_path / "shuffled",
        reverse_order=True,
        date_time=(2024, 5, 6, 7, 8, 10),
        compression=zipfile.ZIP_STORED,
    )
    assert sha256_of(plain) != sha256_of(shuffled)

    assert sha256_of(build(plain, tmp_path / "a")) == sha256_of(build(shuffled, tmp_path / "b"))


def test_different_inputs_build_differently(tmp_path: Path) -> None:
    upstream = make_upstream(tmp_path / "upstream")
    base = sha256_of(build(upstream, tmp_path / "base"))

    other_content = build(upstream, tmp_path / "c", replacements={PATCHED_PATH: PATCHED + b"#\n"})
    other_provenance = build(upstream, tmp_path / "p", provenance={**PROVENANCE, "ok": False})
    assert base not in {sha256_of(other_content), sha256_of(other_provenance)}


def test_source_date_epoch_sets_every_timestamp(
    upstream: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    built = build(upstream, tmp_path / "out")

    with zipfile.ZipFile(built) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ForkKitError, match="SOURCE_DATE_EPOCH"):
        build(upstream, tmp_path / "bad")


def test_building_logs_nothing_per_entry(
    upstream: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    build(upstream, tmp_path / "out")
    assert [record.getMessage() for record in caplog.records] == []


def test_replacing_a_file_the_wheel_lacks_is_refused(upstream: Path, tmp_path: Path) -> None:
    missing = "synthpkg/passthrough/nope.py"
    with pytest.raises(ForkKitError, match=f"{missing} is not in upstream wheel"):
        build(upstream, tmp_path / "out", replacements={missing: PATCHED}, expected_originals=None)
    assert not list((tmp_path / "out").glob("*.whl"))


def test_upstream_differing_from_pinned_source_is_refused(upstream: Path, tmp_path: Path) -> None:
    stale = {PATCHED_PATH: ORIGINAL + b"# what the checkout had\n"}
    with pytest.raises(ForkKitError, match=f"{PATCHED_PATH} differs from the pinned source"):
        build(upstream, tmp_path / "out", expected_originals=stale)
    assert not list((tmp_path / "out").glob("*.whl"))


def test_replaced_file_without_pristine_content_is_refused(upstream: Path, tmp_path: Path) -> None:
    with pytest.raises(ForkKitError, match="no pristine content"):
        build(upstream, tmp_path / "out", expected_originals={"synthpkg/__init__.py": b""})


def test_without_expected_originals_any_existing_file_can_be_replaced(
    upstream: Path, tmp_path: Path
) -> None:
    built = build(upstream, tmp_path / "out", expected_originals=None)
    assert read_entries(built)[PATCHED_PATH][0] == PATCHED


def test_a_new_module_must_be_passed_as_added(upstream: Path, tmp_path: Path) -> None:
    new = "synthpkg/passthrough/extra.py"
    built = build(upstream, tmp_path / "out", added={new: b"EXTRA = 1\n"})

    assert new in diff_wheels(upstream, built)
    assert read_entries(built)[new] == (b"EXTRA = 1\n", 0o100644)
    assert record_problems(built) == []
    with pytest.raises(ForkKitError, match="already in upstream wheel"):
        build(upstream, tmp_path / "x", added={PATCHED_PATH: b""})
    with pytest.raises(ForkKitError, match="new top-level package"):
        build(upstream, tmp_path / "y", added={"passthrough/extra.py": b""})


@pytest.mark.parametrize(
    "path",
    ["synthpkg-1.81.12.dist-info/METADATA", "../synthpkg/x.py", "/synthpkg/x.py", "synthpkg\\x.py"],
)
def test_unsafe_or_generated_paths_are_refused(upstream: Path, tmp_path: Path, path: str) -> None:
    with pytest.raises(ForkKitError):
        build(upstream, tmp_path / "out", replacements={path: b""}, expected_originals=None)


@pytest.mark.parametrize("local", ["fork 1", "", "fork+1", "fork..1"])
def test_bad_local_version_is_refused(upstream: Path, tmp_path: Path, local: str) -> None:
    with pytest.raises(ForkKitError, match="local version"):
        build(upstream, tmp_path / "out", local_version=local)


def test_local_version_is_normalised(upstream: Path, tmp_path: Path) -> None:
    built = build(upstream, tmp_path / "out", local_version="Fork_2")
    assert built.name.startswith("synthpkg-1.81.12+fork.2-")
    assert b"\nVersion: 1.81.12+fork.2\n" in dist_info_file(built, "METADATA")


def test_upstream_that_already_has_a_local_version_is_refused(tmp_path: Path) -> None:
    upstream = make_wheel(tmp_path, "synthpkg", "1.0+fork.1", "py3-none-any", {PATCHED_PATH: b""})
    with pytest.raises(ForkKitError, match="already has a local part"):
        build(upstream, tmp_path / "out", expected_originals=None)


def test_unserialisable_provenance_is_refused(upstream: Path, tmp_path: Path) -> None:
    with pytest.raises(ForkKitError, match="provenance"):
        build(upstream, tmp_path / "out", provenance={"when": object()})


def test_diff_wheels_reports_changes_and_one_sided_paths(tmp_path: Path) -> None:
    a = make_wheel(tmp_path / "a", "p", "1.0", "py3-none-any", {"p/x.py": b"1", "p/y.py": b"1"})
    b = make_wheel(tmp_path / "b", "p", "2.0", "py3-none-any", {"p/x.py": b"2", "p/z.py": b"1"})
    same = make_wheel(tmp_path / "c", "p", "1.0", "py3-none-any", {"p/y.py": b"1", "p/x.py": b"1"})

    assert diff_wheels(a, same) == []
    assert diff_wheels(a, b) == sorted(
        ["p/x.py", "p/y.py", "p/z.py", "*.dist-info/METADATA", "*.dist-info/RECORD"]
    )


def test_wheel_sha256_is_the_file_digest(upstream: Path) -> None:
    assert sha256_of(upstream) == hashlib.sha256(upstream.read_bytes()).hexdigest()


def _installable(tag: str) -> bool:
    return Tag(*tag.split("-")) in set(sys_tags())


@pytest.mark.slow
@pytest.mark.parametrize("tag", ["py3-none-any", COMPILED_TAG])
def test_built_wheel_installs_into_a_fresh_venv(tmp_path: Path, tag: str) -> None:
    if not _installable(tag):
        pytest.skip(f"this interpreter cannot install {tag} wheels")
    built = build(make_upstream(tmp_path / "upstream", tag), tmp_path / "out")
    python = install_into_fresh_venv(built, tmp_path / "venv")

    probe = (
        "import importlib.metadata as m, os, pathlib, synthpkg.passthrough.utils as u\n"
        "d = m.distribution('synthpkg')\n"
        "script = next(str(d.locate_file(f)) for f in d.files if f.name == 'synth-tool')\n"
        "print(m.version('synthpkg'), u.origin(), d.read_text('FORK_PROVENANCE.json') is not None,"
        f" pathlib.Path(u.__file__).read_bytes() == {PATCHED!r}, os.access(script, os.X_OK))"
    )
    assert run_python(python, probe) == "1.81.12+fork.1 patched by the fork True True True"
