"""index: add built wheels to a static package index users can point pip and uv at.

`dist/simple/` is a PEP 503 simple repository (plus the PEP 691 JSON form as `index.json`), laid
out for any static host (a loopback `http.server`, GitHub Pages):

    simple/index.html                              the project list
    simple/<project>/index.html, index.json        every wheel, linked with #sha256=
    simple/<project>/<wheel>                       the wheel itself
    simple/<project>/<wheel>.metadata              its METADATA (PEP 658), so resolvers skip
                                                   downloading wheels they will not install
    simple/<project>/<wheel>.FORK_PROVENANCE.json  the provenance the wheel carries

Wheels already in the index stay (users pin earlier revisions); a wheel whose name is there with
other bytes is refused, since an index must never change a published file. Pages are regenerated
from the wheels present, sorted, so the same wheels always give the same bytes.
"""

from __future__ import annotations

import html
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from packaging.utils import canonicalize_name, parse_wheel_filename

from forkkit.digest import sha256_of
from forkkit.errors import ForkKitError

PROVENANCE = "FORK_PROVENANCE.json"
PROVENANCE_SUFFIX = f".{PROVENANCE}"
META_SUFFIX = ".metadata"
API_VERSION = "1.1"


@dataclass(frozen=True)
class IndexedWheel:
    path: Path
    sha256: str
    metadata_sha256: str


def add_to_index(wheels: list[Path], index_dir: Path, replace: bool = False) -> list[Path]:
    """Copy `wheels` into the index with their sidecars and rewrite every page; return the copies.

    `replace` lets a rebuilt wheel overwrite its namesake: only for a local, unpublished index.
    """
    if not wheels:
        raise ForkKitError("no wheel to index; run `nox -s build` first")
    added = [_add_wheel(wheel, index_dir, replace) for wheel in wheels]
    write_pages(index_dir)
    return added


def _add_wheel(wheel: Path, index_dir: Path, replace: bool) -> Path:
    if not wheel.is_file():
        raise ForkKitError(f"{wheel}: no such wheel")
    try:
        name = parse_wheel_filename(wheel.name)[0]
    except ValueError as exc:
        raise ForkKitError(f"{wheel.name}: not a wheel file name ({exc})") from exc
    target = index_dir / name / wheel.name
    if target.exists() and sha256_of(target) != sha256_of(wheel) and not replace:
        raise ForkKitError(
            f"{wheel.name} is already in {index_dir} with other bytes; a published file"
            " never changes: bump the revision (`nox -s bump`); for a local index,"
            " `nox -s index -- --replace`"
        )
    if not target.exists() or replace:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wheel, target)
    _write_sidecars(target)
    return target


def _write_sidecars(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        dist_info = _dist_info(archive, wheel)
        metadata = archive.read(f"{dist_info}/METADATA")
        provenance = _read_optional(archive, f"{dist_info}/{PROVENANCE}")
    _write_if_changed(wheel.with_name(wheel.name + META_SUFFIX), metadata)
    if provenance is None:
        raise ForkKitError(f"{wheel.name} carries no {PROVENANCE}; only fork wheels are indexed")
    _write_if_changed(wheel.with_name(wheel.name + PROVENANCE_SUFFIX), provenance)


def _dist_info(archive: zipfile.ZipFile, wheel: Path) -> str:
    candidates = {
        n.split("/", 1)[0] for n in archive.namelist() if n.endswith(".dist-info/METADATA")
    }
    if len(candidates) != 1:
        raise ForkKitError(
            f"{wheel.name}: expected one .dist-info directory, found {len(candidates)}"
        )
    return candidates.pop()


def _read_optional(archive: zipfile.ZipFile, member: str) -> bytes | None:
    try:
        return archive.read(member)
    except KeyError:
        return None


def write_pages(index_dir: Path) -> None:
    """Regenerate the root page and every project's pages from the wheels in `index_dir`."""
    projects = sorted(p.name for p in index_dir.iterdir() if p.is_dir() and _wheels_in(p))
    for project in projects:
        wheels = [_indexed(path) for path in _wheels_in(index_dir / project)]
        _write_if_changed(index_dir / project / "index.html", project_html(project, wheels))
        _write_if_changed(index_dir / project / "index.json", project_json(project, wheels))
    _write_if_changed(index_dir / "index.html", root_html(projects))
    _write_if_changed(index_dir / "index.json", root_json(projects))


def _wheels_in(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.whl"))


def _indexed(wheel: Path) -> IndexedWheel:
    metadata = wheel.with_name(wheel.name + META_SUFFIX)
    if not metadata.is_file():
        _write_sidecars(wheel)
    return IndexedWheel(wheel, sha256_of(wheel), sha256_of(metadata))


def _requires_python(wheel: Path) -> str | None:
    metadata = wheel.with_name(wheel.name + META_SUFFIX).read_text(errors="replace")
    for line in metadata.splitlines():
        if not line.strip():
            break  # end of the headers
        key, _, value = line.partition(":")
        if key.lower() == "requires-python":
            return value.strip()
    return None


def project_html(project: str, wheels: list[IndexedWheel]) -> bytes:
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        f'<head><meta name="pypi:repository-version" content="{API_VERSION}">',
        f"<title>Links for {html.escape(project)}</title></head>",
        f"<body><h1>Links for {html.escape(project)}</h1>",
    ]
    for wheel in wheels:
        attributes = f'href="{quote(wheel.path.name)}#sha256={wheel.sha256}"'
        requires = _requires_python(wheel.path)
        if requires:
            attributes += f' data-requires-python="{html.escape(requires)}"'
        attributes += f' data-dist-info-metadata="sha256={wheel.metadata_sha256}"'
        attributes += f' data-core-metadata="sha256={wheel.metadata_sha256}"'
        lines.append(f"<a {attributes}>{html.escape(wheel.path.name)}</a><br>")
    lines += ["</body>", "</html>", ""]
    return "\n".join(lines).encode()


def project_json(project: str, wheels: list[IndexedWheel]) -> bytes:
    files = []
    for wheel in wheels:
        entry: dict[str, object] = {
            "filename": wheel.path.name,
            "url": quote(wheel.path.name),
            "hashes": {"sha256": wheel.sha256},
            "core-metadata": {"sha256": wheel.metadata_sha256},
            "dist-info-metadata": {"sha256": wheel.metadata_sha256},
            "size": wheel.path.stat().st_size,
        }
        requires = _requires_python(wheel.path)
        if requires:
            entry["requires-python"] = requires
        files.append(entry)
    versions = sorted({str(parse_wheel_filename(w.path.name)[1]) for w in wheels})
    payload = {
        "meta": {"api-version": API_VERSION},
        "name": project,
        "versions": versions,
        "files": files,
    }
    return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode()


def root_html(projects: list[str]) -> bytes:
    links = [f'<a href="{quote(p)}/">{html.escape(p)}</a><br>' for p in projects]
    head = f'<head><meta name="pypi:repository-version" content="{API_VERSION}">'
    lines = ["<!DOCTYPE html>", "<html>", f"{head}<title>Simple index</title></head>", "<body>"]
    return "\n".join([*lines, *links, "</body>", "</html>", ""]).encode()


def root_json(projects: list[str]) -> bytes:
    payload = {
        "meta": {"api-version": API_VERSION},
        "projects": [{"name": canonicalize_name(p)} for p in projects],
    }
    return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode()


def _write_if_changed(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
