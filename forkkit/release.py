"""The fork's own version: `<upstream>+<label>.<revision>`, from patches/release.toml.

The file also records the digest of the series the revision was cut for, so check-patches can
notice a changed series whose revision did not move.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

from forkkit.digest import sha256_hasher, sha256_of
from forkkit.errors import ForkKitError
from forkkit.series import Series

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HEADER = (
    "# The patched wheel's version is <upstream>+<label>.<revision>.\n"
    "# Bump the revision whenever the series changes: `nox -s bump`.\n"
)


@dataclass(frozen=True)
class Release:
    label: str
    revision: int
    series_sha256: str

    def local_version(self) -> str:
        return f"{self.label}.{self.revision}"


def bump(path: Path, series: Series, reset: bool = False) -> Release:
    release = load_release(path)
    revision = 1 if reset else release.revision + 1
    bumped = replace(release, revision=revision, series_sha256=patches_digest(series))
    save_release(bumped, path)
    return bumped


def stale_revision(release: Release, series: Series) -> str | None:
    """A one-line complaint when the series moved but the revision did not."""
    if release.series_sha256 == patches_digest(series):
        return None
    return (
        f"the series changed but release revision {release.revision} did not move; "
        f"run `nox -s bump` and commit patches/release.toml"
    )


def load_release(path: Path) -> Release:
    try:
        table = tomllib.loads(path.read_text())["release"]
        return Release(str(table["label"]), int(table["revision"]), str(table["series_sha256"]))
    except FileNotFoundError:
        raise ForkKitError(f"no release file at {path}") from None
    except (KeyError, ValueError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise ForkKitError(
            f"{path}: needs [release] label, revision, series_sha256 ({exc})"
        ) from None


def save_release(release: Release, path: Path) -> None:
    path.write_text(
        f"{HEADER}\n[release]\n"
        f'label = "{release.label}"\n'
        f"revision = {release.revision}\n"
        f'series_sha256 = "{release.series_sha256}"\n'
    )


def patches_digest(series: Series) -> str:
    """Digest of the patch contents in order (not of the pin: a rebase re-cuts revision 1)."""
    digest = sha256_hasher()
    for path in series.paths():
        digest.update(sha256_of(path).encode() + b"\n")
    return digest.hexdigest()
