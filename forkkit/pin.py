"""The upstream pin: which release the series applies to, and how to get it verifiably."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, fields
from pathlib import Path

from forkkit.errors import ForkKitError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

SOURCE_KINDS = ("index", "git")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")

HEADER = (
    "# The LiteLLM release the patch series applies to.\n"
    "# Move it with `nox -s rebase -- <version>`.\n"
    "# The sha256 is checked before anything is extracted.\n"
)


@dataclass(frozen=True)
class Pin:
    project: str
    version: str
    source: str
    sha256: str = ""
    artifact: str = ""
    url: str = ""
    tag: str = ""
    commit: str = ""

    @property
    def cache_key(self) -> str:
        """Content address of the pinned release: the artifact sha256 or the git commit."""
        return self.sha256 if self.source == "index" else self.commit

    @property
    def upstream_tag(self) -> str:
        return f"upstream/{self.version}"

    def describe(self) -> str:
        return f"{self.project} {self.version} ({self.source})"


def load_pin(path: Path) -> Pin:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ForkKitError(f"no pin file at {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ForkKitError(f"{path}: not valid TOML ({exc})") from None
    table = data.get("upstream")
    if not isinstance(table, dict):
        raise ForkKitError(f"{path}: missing [upstream] table")
    return validate(Pin(**_known_fields(table, path)), path)


def _known_fields(table: dict[str, object], path: Path) -> dict[str, str]:
    names = {f.name for f in fields(Pin)}
    unknown = sorted(set(table) - names)
    if unknown:
        raise ForkKitError(f"{path}: unknown key(s) in [upstream]: {', '.join(unknown)}")
    missing = [key for key in ("project", "version", "source") if key not in table]
    if missing:
        raise ForkKitError(f"{path}: [upstream] needs {', '.join(missing)}")
    return {key: str(value) for key, value in table.items()}


def validate(pin: Pin, where: Path | str = "pin") -> Pin:
    if pin.source not in SOURCE_KINDS:
        raise ForkKitError(f"{where}: source must be one of {SOURCE_KINDS}, not {pin.source!r}")
    if not pin.project or not pin.version:
        raise ForkKitError(f"{where}: project and version are required")
    if pin.source == "index" and not _SHA256.match(pin.sha256):
        raise ForkKitError(f"{where}: sha256 must be 64 lowercase hex digits, got {pin.sha256!r}")
    if pin.source == "git":
        if not pin.url or not pin.tag:
            raise ForkKitError(f"{where}: a git pin needs url and tag")
        if not _SHA1.match(pin.commit):
            raise ForkKitError(f"{where}: a git pin needs the tag's 40-hex commit id")
    return pin


def dump_pin(pin: Pin) -> str:
    lines = [HEADER, "[upstream]"]
    for field in fields(Pin):
        value = getattr(pin, field.name)
        if value:
            lines.append(f'{field.name} = "{value}"')
    return "\n".join(lines) + "\n"


def save_pin(pin: Pin, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_pin(validate(pin, path)))
