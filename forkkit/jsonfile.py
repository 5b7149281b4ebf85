"""The JSON files the toolkit keeps between runs, each stamped with its schema and version.

A file this toolkit cannot read (not JSON, another schema, an older or newer version, missing
fields) is reported in one line that names the file and says what to do; never a traceback.
Files from before the stamps existed hold exactly version 1's fields and are read as version 1;
a later version bump changes that. docs/state.md lists every such file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from forkkit.errors import ForkKitError


def write_versioned(path: Path, schema: str, version: int, data: dict[str, Any]) -> None:
    """Write data with its schema stamp, atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stamped = {"schema": schema, "schema_version": version, **data}
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(stamped, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temp.replace(path)


def read_versioned(path: Path, schema: str, version: int, remedy: str) -> dict[str, Any] | None:
    """The file's fields without the stamp; None when it does not exist."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ForkKitError(f"{path} is not valid JSON ({exc}); {remedy}") from None
    if not isinstance(data, dict):
        raise ForkKitError(f"{path} does not hold a JSON object; {remedy}")
    found = (data.pop("schema", None), data.pop("schema_version", None))
    if found == (None, None):
        return data  # written before the stamps: version 1 added only the stamp, so it reads as 1
    if found != (schema, version):
        why = f"is {found[0]} version {found[1]}, this toolkit reads {schema} version {version}"
        raise ForkKitError(f"{path} {why}; {remedy}")
    return data


def malformed(path: Path, exc: Exception, remedy: str) -> ForkKitError:
    """The error for a file whose stamp is right but whose fields are not."""
    detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return ForkKitError(f"{path} is malformed ({detail}); {remedy}")
