"""One patch of the series, read the way `git am` reads it: subject and DEP-3 provenance fields.

`git mailinfo` does the parsing, so RFC 2047 encoded subjects (non-ASCII), folded headers and
the `[PATCH]` prefix are handled exactly as when the patch is applied. The DEP-3 fields are the
`Field: value` lines of the commit message (https://dep-team.pages.debian.net/deps/dep3/).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from forkkit import gitutil
from forkkit.errors import ForkKitError

DEP3_FIELDS = ("Origin", "Forwarded", "Bug", "Applied-Upstream", "Last-Update")
REQUIRED_DEP3 = ("Origin", "Forwarded", "Last-Update")  # what check-patches enforces
_FIELD = re.compile(r"^([A-Za-z][A-Za-z-]*): (.*)$")


@dataclass(frozen=True)
class Patch:
    name: str  # the file name in patches/
    subject: str
    message: str  # the commit message after the subject
    dep3: dict[str, str] = field(default_factory=dict)

    def missing_dep3(self) -> list[str]:
        return [name for name in REQUIRED_DEP3 if not self.dep3.get(name)]


def read_patch(path: Path) -> Patch:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ForkKitError(f"no patch file at {path}") from None
    return parse_patch(path.name, data)


def parse_patch(name: str, data: bytes) -> Patch:
    headers, message = gitutil.mailinfo(data)
    subject = next(
        (
            line.split(":", 1)[1].strip()
            for line in headers.splitlines()
            if line.startswith("Subject:")
        ),
        "",
    )
    if not subject:
        raise ForkKitError(f"patch {name} has no Subject: is it `git format-patch` output?")
    return Patch(name, subject, message, dep3_fields(message))


def dep3_fields(message: str) -> dict[str, str]:
    found = {}
    for line in message.splitlines():
        match = _FIELD.match(line)
        if match and match.group(1) in DEP3_FIELDS:
            found[match.group(1)] = match.group(2).strip()
    return found
