"""Download release artifacts into a content-addressed cache, verified before anyone reads them."""

from __future__ import annotations

import http.client
import os
import posixpath
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from forkkit.digest import sha256_hasher, sha256_of
from forkkit.errors import ForkKitError
from forkkit.index import IndexFile, find_sdist, open_url, redact
from forkkit.pin import Pin

CHUNK = 1 << 20


def fetch_sdist(pin: Pin, cache_dir: Path) -> Path:
    if pin.artifact and artifact_path(cache_dir, pin.sha256, pin.artifact).exists():
        cached = cached_artifact(cache_dir, pin.sha256, pin.artifact)
        if cached:
            return cached
    file = find_sdist(pin.project, pin.version)
    return download_verified(file, pin.sha256, cache_dir)


def download_verified(file: IndexFile, expected_sha256: str, cache_dir: Path) -> Path:
    """Return the cached artifact, downloading it first; a sha256 mismatch keeps nothing.

    The caller holds the pipeline's lock (forkkit.pipeline.locked), as for every step here.
    """
    if file.sha256 and file.sha256 != expected_sha256:
        raise ForkKitError(
            f"sha256 mismatch for {file.filename}: pinned {expected_sha256}, "
            f"the index lists {file.sha256}; nothing was downloaded"
        )
    target = artifact_path(cache_dir, expected_sha256, file.filename)
    target.parent.mkdir(parents=True, exist_ok=True)
    found = cached_artifact(cache_dir, expected_sha256, file.filename)
    if found:
        return found
    actual = _download_to(file.url, target, expected_sha256)
    if actual != expected_sha256:
        raise ForkKitError(
            f"sha256 mismatch for {file.filename}: pinned {expected_sha256}, "
            f"downloaded {actual}; the download was discarded and nothing was extracted"
        )
    return target


def cached_artifact(cache_dir: Path, sha256: str, filename: str) -> Path | None:
    """The cached file, if present and intact; a damaged copy is removed so it is fetched again.

    Call it holding the pipeline's lock, so it never removes a copy another run just placed.
    """
    path = artifact_path(cache_dir, sha256, filename)
    if not path.is_file():
        return None
    actual = sha256_of(path)
    if actual == sha256:
        return path
    path.unlink(missing_ok=True)
    print(f"note: removed a damaged cached {filename} (sha256 {actual}); fetching it again")
    return None


def artifact_path(cache_dir: Path, sha256: str, filename: str) -> Path:
    return cache_dir / "artifacts" / sha256[:2] / sha256 / filename


def _download_to(url: str, target: Path, expected_sha256: str) -> str:
    """Stream url next to target and return its sha256; only a matching download becomes target."""
    digest = sha256_hasher()
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out, open_url(url) as response:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        actual = digest.hexdigest()
        if actual == expected_sha256:
            os.replace(temp, target)
        return actual
    except (OSError, http.client.HTTPException) as exc:
        detail = str(exc) or type(exc).__name__
        raise ForkKitError(f"download of {redact(url)} failed: {detail}") from None
    finally:
        temp.unlink(missing_ok=True)


def sdist_files(archive: Path) -> Iterator[tuple[str, int, bytes]]:
    """(path below the top-level directory, git mode, content) of each file and link in an sdist.

    Nothing is written to disk: each member is checked as an extraction would check it
    (tarfile's data filter: no absolute paths, no `..`, no links leaving the tree), and the
    modes are the ones `git add` would record for the extracted file. An unsafe member stops
    the iteration with an error, so whoever consumes it must not keep what came before.
    """
    try:
        with tarfile.open(archive) as tar, tempfile.TemporaryDirectory() as nowhere:
            tops: set[str] = set()
            for member in tar:  # in archive order: a gzip stream reads forward only
                _check_member(member, Path(nowhere))
                name = posixpath.normpath(member.name)
                if name == ".":  # the archive's own root ("./"), as some tar writers list it
                    continue
                top, _, path = name.partition("/")
                tops.add(top)
                if len(tops) > 1 or not (path or member.isdir()):
                    raise ForkKitError(f"{archive.name}: expected one top-level directory")
                if path and (member.isfile() or member.issym() or member.islnk()):
                    yield path, _git_mode(member), _content(tar, member)
            if not tops:
                raise ForkKitError(f"{archive.name}: expected one top-level directory")
    except (tarfile.TarError, OSError) as exc:
        raise ForkKitError(f"cannot extract {archive.name}: {exc}") from None


def _check_member(member: tarfile.TarInfo, dest: Path) -> None:
    if hasattr(tarfile, "data_filter"):
        tarfile.data_filter(member, str(dest))
        return
    root, target = dest.resolve(), (dest / member.name).resolve()  # pragma: no cover - old Pythons
    if (root not in target.parents and target != root) or member.issym() or member.islnk():
        raise ForkKitError(f"refusing unsafe path in sdist: {member.name}")


def _git_mode(member: tarfile.TarInfo) -> int:
    if member.issym():
        return 0o120000
    return 0o100755 if member.mode & 0o100 else 0o100644


def _content(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    if member.issym():
        return member.linkname.encode("utf-8", "surrogateescape")
    extracted = tar.extractfile(member)
    if extracted is None:
        raise ForkKitError(f"cannot read {member.name} from the sdist")
    with extracted:
        return extracted.read()
