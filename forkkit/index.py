"""Read a package index through the PEP 691 JSON simple API of the user's configured index.

The index is never hard-coded: environment, then pip's configuration files, then pip's own default.
"""

from __future__ import annotations

import base64
import configparser
import http.client
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from forkkit.errors import ForkKitError

JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"
INDEX_ENV_VARS = ("PIP_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX")
TIMEOUT_ENV = "FORKKIT_TIMEOUT"


@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str
    sha256: str
    yanked: bool


def index_url() -> str:
    for name in INDEX_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return _pip_config_index_url() or _pip_default_index_url()


def _pip_config_files() -> list[Path]:
    """pip's configuration files, lowest priority first (see `pip config debug`)."""
    forced = os.environ.get("PIP_CONFIG_FILE")
    if forced:
        return [] if forced == os.devnull else [Path(forced)]
    xdg_dirs = os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
    config_home = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    files = [Path(d) / "pip" / "pip.conf" for d in reversed(xdg_dirs)]
    files += [Path("/etc/pip.conf"), Path.home() / ".pip" / "pip.conf"]
    files += [config_home / "pip" / "pip.conf", Path(sys.prefix) / "pip.conf"]
    return files


def _pip_config_index_url() -> str:
    found = ""
    for path in _pip_config_files():
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except configparser.Error as exc:
            raise ForkKitError(f"cannot read pip configuration {path}: {exc}") from None
        for section in ("global", "download", "install"):
            if parser.has_option(section, "index-url"):
                found = parser.get(section, "index-url").strip()
    return found


def _pip_default_index_url() -> str:
    try:
        from pip._internal.models.index import PyPI
    except ImportError:
        raise ForkKitError(
            "no package index configured and pip is not installed to tell its default; "
            "set PIP_INDEX_URL"
        ) from None
    return str(PyPI.simple_url)


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:
        netloc = f"***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _timeout() -> float:
    return float(os.environ.get(TIMEOUT_ENV, "60"))


def _without_credentials(url: str) -> tuple[str, str | None]:
    """Split `user:pass@` out of a URL into a basic-auth header value."""
    parts = urlsplit(url)
    if not parts.username:
        return url, None
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    token = base64.b64encode(f"{parts.username}:{parts.password or ''}".encode()).decode()
    return urlunsplit(parts._replace(netloc=host)), f"Basic {token}"


def open_url(url: str, accept: str | None = None) -> Any:
    """Open an index URL; any failure becomes one line naming the (redacted) URL."""
    clean, authorization = _without_credentials(url)
    request = urllib.request.Request(clean)
    if accept:
        request.add_header("Accept", accept)
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        return urllib.request.urlopen(request, timeout=_timeout())
    except urllib.error.HTTPError as exc:
        raise ForkKitError(f"package index answered {exc.code} for {redact(url)}") from None
    except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        detail = str(reason) or type(reason).__name__
        raise ForkKitError(f"cannot reach the package index at {redact(url)}: {detail}") from None


def project_page(project: str, base: str | None = None) -> tuple[str, dict[str, Any]]:
    root = (base or index_url()).rstrip("/") + "/"
    url = urljoin(root, f"{canonicalize_name(project)}/")
    with open_url(url, accept=JSON_ACCEPT) as response:
        content_type = response.headers.get("Content-Type", "")
        if "json" not in content_type:
            raise ForkKitError(
                f"the index at {redact(root)} does not serve the PEP 691 JSON API "
                f"(got {content_type or 'no content type'})"
            )
        try:
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:  # a timeout or a cut connection
            detail = str(exc) or type(exc).__name__
            raise ForkKitError(
                f"reading {redact(url)} from the package index failed: {detail}"
            ) from None
        try:
            return url, json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ForkKitError(f"the index at {redact(root)} sent invalid JSON: {exc}") from None


def list_files(project: str, base: str | None = None) -> list[IndexFile]:
    page_url, page = project_page(project, base)
    files = []
    for entry in page.get("files", []):
        files.append(
            IndexFile(
                filename=entry["filename"],
                url=urljoin(page_url, entry["url"]),
                sha256=entry.get("hashes", {}).get("sha256", ""),
                yanked=bool(entry.get("yanked")),
            )
        )
    return files


def versions_from_files(project: str, files: list[IndexFile]) -> list[Version]:
    from packaging.utils import parse_sdist_filename, parse_wheel_filename

    found: set[Version] = set()
    for file in files:
        if file.yanked:
            continue
        try:
            if file.filename.endswith(".whl"):
                name, version, _, _ = parse_wheel_filename(file.filename)
            else:
                name, version = parse_sdist_filename(file.filename)
        except (ValueError, InvalidVersion):
            continue
        if name == canonicalize_name(project):
            found.add(version)
    return sorted(found)


def find_sdist(project: str, version: str, base: str | None = None) -> IndexFile:
    files = list_files(project, base)
    wanted = f"{project}-{version}.tar.gz"
    for file in files:
        if file.filename.lower() == wanted.lower():
            return file
    known = versions_from_files(project, files)
    newest = f" (newest there: {known[-1]})" if known else ""
    where = redact(base or index_url())
    raise ForkKitError(f"{project} {version} has no sdist on the package index at {where}{newest}")
