"""Test helpers: make small upstream-like wheels, check RECORD, install a wheel into a new venv.

Written straight on ``zipfile``/``hashlib`` (not on ``wheel`` or ``forkkit``) so the checks do
not share code, or bugs, with the builder under test.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

FILE = stat.S_IFREG | 0o644
EXECUTABLE = stat.S_IFREG | 0o755


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_wheel(
    out_dir: Path,
    name: str,
    version: str,
    tag: str,
    files: Mapping[str, bytes | tuple[bytes, int]],
    *,
    root_is_purelib: bool = True,
    description: str = "A synthetic distribution.\n",
    headers: str = "",
    reverse_order: bool = False,
    date_time: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0),
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """A spec-conformant wheel; ``files`` maps archive path -> content or (content, st_mode).

    Paths starting with ``{data}/`` go into the ``{name}-{version}.data/`` directory.
    """
    namever = f"{name}-{version}"
    dist_info = f"{namever}.dist-info"
    entries = {
        path.replace("{data}", f"{namever}.data"): value
        if isinstance(value, tuple)
        else (value, FILE)
        for path, value in files.items()
    }
    metadata = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: synthetic\n"
        + headers
        + "\n"
        + description
    )
    wheel = (
        f"Wheel-Version: 1.0\nGenerator: synthetic-wheels\n"
        f"Root-Is-Purelib: {'true' if root_is_purelib else 'false'}\nTag: {tag}\n"
    )
    entries[f"{dist_info}/METADATA"] = (metadata.encode(), FILE)
    entries[f"{dist_info}/WHEEL"] = (wheel.encode(), FILE)
    entries[f"{dist_info}/top_level.txt"] = (b"\n".join(sorted(_tops(entries))) + b"\n", FILE)
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, (data, _) in sorted(entries.items()):
        writer.writerow([path, record_hash(data), len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    entries[f"{dist_info}/RECORD"] = (record.getvalue().encode(), FILE)

    order = sorted(entries, reverse=reverse_order)
    target = out_dir / f"{namever}-{tag}.whl"
    out_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w") as archive:
        for path in order:
            data, mode = entries[path]
            info = zipfile.ZipInfo(path, date_time)
            info.external_attr = mode << 16
            info.compress_type = compression
            archive.writestr(info, data)
    return target


def _tops(entries: Mapping[str, object]) -> set[bytes]:
    return {
        p.split("/")[0].encode()
        for p in entries
        if "/" in p and not p.split("/")[0].endswith((".dist-info", ".data"))
    }


def read_entries(wheel: Path) -> dict[str, tuple[bytes, int]]:
    """Archive path -> (content, st_mode) of every file entry."""
    with zipfile.ZipFile(wheel) as archive:
        return {i.filename: (archive.read(i), i.external_attr >> 16) for i in archive.infolist()}


def dist_info_file(wheel: Path, inner: str) -> bytes:
    """The content of ``<the one .dist-info dir>/<inner>``."""
    with zipfile.ZipFile(wheel) as archive:
        (match,) = [
            n
            for n in archive.namelist()
            if n.split("/", 1)[0].endswith(".dist-info") and n.split("/", 1)[1] == inner
        ]
        return archive.read(match)


def record_problems(wheel: Path) -> list[str]:
    """Everything wrong with the wheel's RECORD, recomputed from the archive: [] when valid."""
    with zipfile.ZipFile(wheel) as archive:
        names = [i.filename for i in archive.infolist() if not i.is_dir()]
        (record_path,) = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/RECORD")]
        rows = list(csv.reader(io.StringIO(archive.read(record_path).decode("utf-8"))))
        problems = []
        listed = [row[0] for row in rows]
        if sorted(listed) != sorted(names) or len(set(listed)) != len(listed):
            problems.append(f"RECORD lists {sorted(listed)}, archive has {sorted(names)}")
        for path, digest, size in rows:
            if path == record_path:
                if (digest, size) != ("", ""):
                    problems.append(f"RECORD's own line has hash/size {digest!r},{size!r}")
                continue
            if path not in names:
                continue
            data = archive.read(path)
            if digest != record_hash(data) or size != str(len(data)):
                problems.append(f"{path}: RECORD says {digest},{size}")
    return problems


def install_into_fresh_venv(wheel: Path, venv: Path) -> Path:
    """Install ``wheel`` (and nothing else, no index) into a new venv; return its python."""
    uv = shutil.which("uv")
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if uv:
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
        _run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--offline",
                "--no-index",
                "--no-deps",
                "--no-cache",
                "--python",
                str(python),
                str(wheel),
            ]
        )
    else:
        _run([sys.executable, "-m", "venv", str(venv)])
        _run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-index",
                "--no-deps",
                "--no-compile",
                "--disable-pip-version-check",
                str(wheel),
            ]
        )
    return python


def run_python(python: Path, code: str) -> str:
    return _run([str(python), "-c", code]).strip()


def _run(command: Sequence[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    if result.returncode:
        raise AssertionError(f"{command} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout
