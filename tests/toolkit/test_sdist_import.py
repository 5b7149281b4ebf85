"""The pristine import reads the sdist straight into git: the same commit extraction + `git add`
made, and an unsafe archive is refused before anything lands."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from forkkit import gitutil
from forkkit.errors import ForkKitError
from forkkit.fetch import sdist_files

TOP = "demo-1.0"


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _file(name: str, data: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode = mode
    return info, data


def _entry(
    name: str, kind: bytes, target: str = "", mode: int = 0o755
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, target, mode
    return info, b""


def _awkward_sdist(tmp_path: Path) -> Path:
    """Modes, links, odd names, a duplicate, a directory entry, CRLF: what an sdist may hold."""
    return _tar(
        tmp_path / "demo-1.0.tar.gz",
        [
            _entry("./", tarfile.DIRTYPE),  # some tar writers list the archive's root
            _entry(f"{TOP}/", tarfile.DIRTYPE),
            _file(f"{TOP}/demo/__init__.py", b"VERSION = '1.0'\n"),
            _file(f"{TOP}/bin/run", b"#!/bin/sh\necho hi\n", mode=0o755),
            _file(f"{TOP}/bin/owner-only-exec", b"x\n", mode=0o700),
            _file(f"{TOP}/group-exec-only", b"y\n", mode=0o654),
            _entry(f"{TOP}/demo/link.py", tarfile.SYMTYPE, "__init__.py"),
            # a hard link shares its target's inode, so tar records the target's mode for it
            _entry(f"{TOP}/demo/hard.py", tarfile.LNKTYPE, f"{TOP}/demo/__init__.py", 0o644),
            _file(f'{TOP}/docs/a "quoted" name\\.txt', b"q\n"),
            _file(f"{TOP}/docs/ünïcode.md", b"u\n"),
            _file(f"{TOP}/windows.txt", b"a\r\nb\r\n"),
            _file(f"{TOP}/.gitignore", b"*.txt\n"),
            _file(f"{TOP}/empty", b""),
            _file(f"{TOP}/dup.txt", b"first\n"),
            _file(f"{TOP}/dup.txt", b"second\n"),
            _file(f"./{TOP}/dotted.txt", b"d\n"),
        ],
    )


def _extracted_and_added(archive: Path, scratch: Path) -> str:
    """The tree the toolkit used to commit: extract with the data filter, `git add --all -f`."""
    with tarfile.open(archive) as tar:
        tar.extractall(scratch / "src", filter="data")
    bare = scratch / "added.git"
    gitutil.run(scratch, "init", "--quiet", "--bare", str(bare))
    work = ("--git-dir", str(bare), "--work-tree", str(scratch / "src" / TOP))
    gitutil.run(scratch, *work, "add", "--all", "--force", ".")
    gitutil.run(scratch, *work, "commit", "--quiet", "-m", "Import", env=gitutil.TOOL_IDENTITY)
    return gitutil.run(bare, "rev-parse", "HEAD").strip()


def _imported(archive: Path, scratch: Path) -> str:
    bare = scratch / "imported.git"
    gitutil.run(scratch, "init", "--quiet", "--bare", str(bare))
    gitutil.commit_files(bare, "refs/heads/main", sdist_files(archive), "Import")
    return gitutil.run(bare, "rev-parse", "refs/heads/main").strip()


@pytest.mark.skipif(not hasattr(tarfile, "data_filter"), reason="needs tarfile's data filter")
def test_the_commit_is_the_one_extraction_and_git_add_made(tmp_path: Path) -> None:
    archive = _awkward_sdist(tmp_path)
    assert _imported(archive, tmp_path) == _extracted_and_added(archive, tmp_path)


def test_modes_links_and_contents(tmp_path: Path) -> None:
    files = {path: (mode, data) for path, mode, data in sdist_files(_awkward_sdist(tmp_path))}
    assert files["bin/run"][0] == files["bin/owner-only-exec"][0] == 0o100755
    assert files["group-exec-only"][0] == 0o100644
    assert files["demo/link.py"] == (0o120000, b"__init__.py")
    assert files["demo/hard.py"] == (0o100644, b"VERSION = '1.0'\n")
    assert files["windows.txt"][1] == b"a\r\nb\r\n"
    assert files["dotted.txt"][1] == b"d\n"


@pytest.mark.parametrize(
    "unsafe",
    [
        _file(f"{TOP}/../escaped.txt", b"x\n"),
        _file("/etc/absolute.txt", b"x\n"),
        _entry(f"{TOP}/out", tarfile.SYMTYPE, "../../outside"),
        _entry(f"{TOP}/abs", tarfile.SYMTYPE, "/etc/passwd"),
        _file("second-top/file.txt", b"x\n"),
        _file("loose-top-level-file.txt", b"x\n"),
    ],
    ids=["dotdot", "absolute", "link-out", "link-absolute", "two-tops", "top-level-file"],
)
def test_an_unsafe_archive_is_refused_and_nothing_is_committed(
    tmp_path: Path, unsafe: tuple[tarfile.TarInfo, bytes]
) -> None:
    archive = _tar(
        tmp_path / "bad.tar.gz",
        [_file(f"{TOP}/good.txt", b"fine\n"), unsafe, _file(f"{TOP}/after.txt", b"later\n")],
    )
    with pytest.raises(ForkKitError, match=r"bad\.tar\.gz"):
        _imported(archive, tmp_path)
    bare = tmp_path / "imported.git"
    assert gitutil.run_unchecked(bare, "rev-parse", "--verify", "refs/heads/main")[0] != 0
