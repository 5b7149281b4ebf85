"""The one sha256 helper: every digest the toolkit and its CI scripts compute comes from here."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

BLOCK = 1 << 20


def sha256_hasher(data: bytes = b"") -> Any:
    """An incremental sha256 (update() it block by block, then hexdigest())."""
    return hashlib.sha256(data)


def sha256_of(path: Path) -> str:
    """Hex digest of a file, read in blocks (the digest an index publishes)."""
    digest = sha256_hasher()
    with Path(path).open("rb") as stream:
        for block in iter(lambda: stream.read(BLOCK), b""):
            digest.update(block)
    return str(digest.hexdigest())


def sha256_digest(data: bytes) -> str:
    """Hex digest of bytes in memory."""
    return str(sha256_hasher(data).hexdigest())


def record_digest(data: bytes) -> str:
    """The digest as a wheel's RECORD spells it: urlsafe base64, no padding (PEP 376/427)."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
