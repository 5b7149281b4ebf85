"""Build the patched wheel: upstream's published wheel with only the patched files changed.

Everything else is carried over byte for byte (file contents, permission bits, the WHEEL file
and its tags); the ``.dist-info`` (and ``.data``, if any) directory is renamed to the new
version, ``Version:`` is rewritten in METADATA, RECORD is regenerated and
``FORK_PROVENANCE.json`` is added.  No compiler is involved, so a compiled release gets one
patched wheel per platform wheel.

The output is a function of the upstream wheel's *contents* (archive paths, bytes, permission
bits), the replacements, the local version, the provenance and ``SOURCE_DATE_EPOCH``: entry
order is sorted (dist-info last, RECORD very last), every entry gets the same timestamp and
compression, so neither the upstream zip's entry order nor its timestamps leak into the result.

Reading and writing go through ``wheel.wheelfile.WheelFile`` (listed in its ``__all__`` and at
the same import path in wheel 0.43 to 0.48): reading checks every upstream entry against the
upstream RECORD, writing computes the new RECORD.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version
from wheel.wheelfile import WheelError, WheelFile

from forkkit.digest import sha256_digest
from forkkit.errors import ForkKitError

PROVENANCE_FILE = "FORK_PROVENANCE.json"
DEFAULT_EPOCH = 315532800  # 1980-01-01T00:00:00Z: the earliest time a zip entry can hold
_MAX_EPOCH = 4354819199  # 2107-12-31T23:59:59Z: the latest
_DEFAULT_MODE = stat.S_IFREG | 0o644
_SIGNATURES = ("RECORD", "RECORD.jws", "RECORD.p7s")  # regenerated / invalidated by the rebuild
_LOCAL_RE = re.compile(r"[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*")

DateTime = tuple[int, int, int, int, int, int]


def build_patched_wheel(
    upstream_wheel: Path,
    replacements: Mapping[str, bytes],
    local_version: str,
    provenance: Mapping[str, object],
    out_dir: Path,
    expected_originals: Mapping[str, bytes] | None = None,
    *,
    added: Mapping[str, bytes] | None = None,
) -> Path:
    """Write ``{name}-{upstream}+{local_version}-{tags}.whl`` into ``out_dir``; return its path.

    ``replacements`` may only change files the upstream wheel ships; a patch that creates a
    file must name it in ``added`` (kept apart so a mistyped path is an error, not a new file).
    With ``expected_originals``, every replaced file must be given and must match upstream.
    """
    entries, old_dist_info = _read_wheel(upstream_wheel)
    metadata_path = f"{old_dist_info}/METADATA"
    if metadata_path not in entries:
        raise ForkKitError(f"upstream wheel {upstream_wheel.name} has no {metadata_path}")
    metadata = entries[metadata_path][0]
    name, version = _identity(upstream_wheel, metadata)
    new_version = _local_version(version, local_version)
    namever = f"{name}-{new_version}"
    old_data = _data_dir(entries)

    _check_changes(upstream_wheel.name, entries, replacements, added or {}, expected_originals)
    entries.update({path: (bytes(data), entries[path][1]) for path, data in replacements.items()})
    entries.update({path: (bytes(data), _DEFAULT_MODE) for path, data in (added or {}).items()})
    entries[metadata_path] = (_set_version(metadata, new_version), entries[metadata_path][1])
    entries[f"{old_dist_info}/{PROVENANCE_FILE}"] = (_provenance_json(provenance), _DEFAULT_MODE)
    for signature in _SIGNATURES:
        entries.pop(f"{old_dist_info}/{signature}", None)

    renames = {old_dist_info: f"{namever}.dist-info"}
    if old_data is not None:
        renames[old_data] = f"{namever}.data"
    renamed = {_rename(path, renames): value for path, value in entries.items()}
    build_and_tags = upstream_wheel.name[: -len(".whl")].split("-")[2:]  # kept verbatim
    filename = "-".join([namever, *build_and_tags]) + ".whl"
    return _write_wheel(Path(out_dir), filename, renamed, f"{namever}.dist-info")


def diff_wheels(a: Path, b: Path) -> list[str]:
    """Sorted archive paths whose content differs or that exist in only one of the wheels.

    The ``.dist-info`` and ``.data`` directories are compared by the paths inside them and
    reported as ``*.dist-info/<inner path>`` / ``*.data/<inner path>``, so a version rename
    shows up as the files that really changed.
    """
    left, right = _digests(a), _digests(b)
    return sorted(path for path in left.keys() | right.keys() if left.get(path) != right.get(path))


class _ReproducibleWheelFile(WheelFile):
    """A WheelFile whose own RECORD entry gets the fixed timestamp and mode, not 'now'."""

    def __init__(self, file: Path, date_time: DateTime) -> None:
        super().__init__(file, "w", compression=zipfile.ZIP_DEFLATED)
        self._date_time = date_time

    def writestr(
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: bytes | str,
        compress_type: int | None = None,
    ) -> None:
        if isinstance(zinfo_or_arcname, str):  # WheelFile.close() writes RECORD this way
            zinfo_or_arcname = _zipinfo(zinfo_or_arcname, self._date_time, _DEFAULT_MODE)
        super().writestr(zinfo_or_arcname, data, compress_type)


def _read_wheel(path: Path) -> tuple[dict[str, tuple[bytes, int]], str]:
    """Archive path -> (content, st_mode), every file checked against upstream's RECORD."""
    try:
        with WheelFile(path) as wheel:
            infos = [info for info in wheel.infolist() if not info.is_dir()]
            names = [info.filename for info in infos]
            if len(set(names)) != len(names):
                raise ForkKitError(
                    f"upstream wheel {path.name} has duplicate entries; re-download it"
                )
            entries = {info.filename: (wheel.read(info), _mode(info)) for info in infos}
            dist_info: str = wheel.dist_info_path
    except (WheelError, zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as exc:
        raise ForkKitError(
            f"cannot read upstream wheel {path.name} ({exc}); re-download it"
        ) from exc
    tops = {p.split("/", 1)[0] for p in entries if p.split("/", 1)[0].endswith(".dist-info")}
    if tops != {dist_info}:
        raise ForkKitError(f"upstream wheel {path.name} has dist-info dirs {sorted(tops)}")
    return entries, dist_info


def _identity(wheel: Path, metadata: bytes) -> tuple[str, Version]:
    """(normalised distribution name, version) from METADATA, cross-checked with the filename."""
    try:
        file_name, file_version, _, _ = parse_wheel_filename(wheel.name)
        name, version = _header(metadata, "Name"), Version(_header(metadata, "Version"))
    except (InvalidWheelFilename, InvalidVersion) as exc:
        raise ForkKitError(f"upstream wheel {wheel.name}: {exc}") from exc
    if canonicalize_name(name) != file_name or version != file_version:
        raise ForkKitError(f"upstream wheel {wheel.name} contains METADATA for {name} {version}")
    return canonicalize_name(name).replace("-", "_"), version


def _local_version(upstream: Version, local: str) -> str:
    if upstream.local is not None:
        raise ForkKitError(f"upstream version {upstream} already has a local part; use a release")
    if not _LOCAL_RE.fullmatch(local):
        raise ForkKitError(f"local version {local!r} is not a PEP 440 local label (e.g. fork.1)")
    return str(Version(f"{upstream}+{local}"))


def _header(metadata: bytes, field: str) -> str:
    head = re.split(rb"\r?\n\r?\n", metadata, maxsplit=1)[0]
    found = re.findall(rb"^" + field.encode() + rb":[ \t]*(.*?)[ \t]*\r?$", head, re.M | re.I)
    if len(found) != 1:
        raise ForkKitError(f"upstream METADATA has {len(found)} {field}: headers, expected 1")
    return str(found[0].decode("utf-8"))


def _set_version(metadata: bytes, version: str) -> bytes:
    """METADATA with only the value of its (single, already checked) Version: header replaced."""
    head, *rest = re.split(rb"(\r?\n\r?\n)", metadata, maxsplit=1)
    value = re.compile(rb"^(version:[ \t]*).*?([ \t]*\r?)$", re.M | re.I)
    head = value.sub(lambda match: match[1] + version.encode() + match[2], head)
    return b"".join([head, *rest])


def _data_dir(entries: Mapping[str, object]) -> str | None:
    data = {p.split("/", 1)[0] for p in entries if p.split("/", 1)[0].endswith(".data")}
    if len(data) > 1:
        raise ForkKitError(f"upstream wheel has several .data dirs {sorted(data)}")
    return data.pop() if data else None


def _check_changes(
    wheel: str,
    entries: Mapping[str, object],
    replacements: Mapping[str, bytes],
    added: Mapping[str, bytes],
    expected: Mapping[str, bytes] | None,
) -> None:
    packages = {p.split("/", 1)[0] for p in entries if "/" in p}
    for path in [*replacements, *added]:
        parts = path.split("/")
        if path.startswith("/") or "\\" in path or {"", ".", ".."} & set(parts):
            raise ForkKitError(f"{path!r} is not a relative archive path like litellm/x.py")
        if parts[0].endswith(".dist-info"):
            raise ForkKitError(f"{path} is generated by the wheel builder; patch package files")
    for path in replacements:
        if path not in entries:
            raise ForkKitError(
                f"{path} is not in upstream wheel {wheel}; a new file must be passed as added"
            )
        if expected is not None and path not in expected:
            raise ForkKitError(f"no pristine content given for {path}; cannot check upstream")
    for path in added:
        if path in entries:
            raise ForkKitError(f"{path} is already in upstream wheel {wheel}; replace it instead")
        if path.split("/", 1)[0] not in packages:
            raise ForkKitError(f"{path} would add a new top-level package to {wheel}; check path")
    for path, original in (expected or {}).items():
        content = entries.get(path)
        if not isinstance(content, tuple) or content[0] != bytes(original):
            raise ForkKitError(
                f"upstream wheel's {path} differs from the pinned source; refusing to build"
            )


def _provenance_json(provenance: Mapping[str, object]) -> bytes:
    try:
        text = json.dumps(
            dict(provenance), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise ForkKitError(f"provenance is not JSON-serialisable: {exc}") from exc
    return (text + "\n").encode("utf-8")


def _rename(path: str, renames: Mapping[str, str]) -> str:
    top, sep, rest = path.partition("/")
    return f"{renames[top]}{sep}{rest}" if sep and top in renames else path


def _mode(info: zipfile.ZipInfo) -> int:
    """The entry's permission bits as a regular file (0o644 when the zip records none)."""
    permissions = stat.S_IMODE(info.external_attr >> 16)
    return stat.S_IFREG | permissions if permissions else _DEFAULT_MODE


def _epoch_date_time() -> DateTime:
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    try:
        epoch = int(raw) if raw else DEFAULT_EPOCH
    except ValueError:
        raise ForkKitError(
            f"SOURCE_DATE_EPOCH={raw!r} is not whole seconds; fix or unset it"
        ) from None
    if epoch > _MAX_EPOCH:
        raise ForkKitError(f"SOURCE_DATE_EPOCH={raw} is past 2107, which zip cannot store")
    return time.gmtime(max(epoch, DEFAULT_EPOCH))[:6]


def _zipinfo(name: str, date_time: DateTime, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time)
    info.create_system = 3  # Unix, whatever builds it, so the permission bits mean the same
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _write_wheel(
    out_dir: Path, filename: str, entries: Mapping[str, tuple[bytes, int]], dist_info: str
) -> Path:
    """Write entries sorted (dist-info last, RECORD last of all) atomically into out_dir."""
    date_time = _epoch_date_time()
    order = sorted(entries, key=lambda path: (path.startswith(f"{dist_info}/"), path))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / filename
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".wheelbuild-") as scratch:
        partial = Path(scratch) / filename  # same name: WheelFile derives RECORD's path from it
        try:
            with _quiet_wheel_logger(), _ReproducibleWheelFile(partial, date_time) as wheel:
                for path in order:
                    data, mode = entries[path]
                    wheel.writestr(_zipinfo(path, date_time, mode), data)
        except (WheelError, OSError) as exc:
            raise ForkKitError(f"cannot write {target}: {exc}") from exc
        os.replace(partial, target)
    return target


@contextmanager
def _quiet_wheel_logger() -> Iterator[None]:
    """Drop WheelFile's per-entry "adding 'x'" INFO lines (wheel < 0.46 configures logging)."""
    logger = logging.getLogger("wheel")
    previous = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _digests(path: Path) -> dict[str, str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return {
                _generic(info.filename): sha256_digest(archive.read(info))
                for info in archive.infolist()
                if not info.is_dir()
            }
    except (zipfile.BadZipFile, OSError) as exc:
        raise ForkKitError(f"cannot read wheel {path} ({exc})") from exc


def _generic(path: str) -> str:
    top, sep, rest = path.partition("/")
    for suffix in (".dist-info", ".data"):
        if sep and top.endswith(suffix):
            return f"*{suffix}/{rest}"
    return path
