"""The bench table: one row per measurement, rendered as Markdown, and the machine it ran on."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Row:
    what: str
    value: float | None  # None: not measured (the note says why)
    unit: str  # "s" (seconds), "µs" (microseconds) or "ratio"
    limit: float | None  # the target: value <= limit; None: no target
    note: str = ""

    @property
    def within(self) -> bool | None:
        if self.value is None or self.limit is None:
            return None
        return self.value <= self.limit

    def result(self) -> str:
        if self.value is None:
            return "—"
        if self.unit == "ratio":
            return f"{self.value:.3f}"
        if self.unit == "µs":
            return f"{self.value:.0f} µs"
        return f"{self.value:.2f} s" if self.value < 10 else f"{self.value:.1f} s"

    def target(self) -> str:
        if self.limit is None:
            return "—"
        return f"≤ {self.limit:g}" + {"s": " s", "µs": " µs"}.get(self.unit, "")


def render(rows: list[Row], machine: dict[str, Any], notes: list[str]) -> str:
    words = {True: "yes", False: "NO", None: "—"}
    table = [
        ["measurement", "result", "target", "within", "note"],
        *([r.what, r.result(), r.target(), words[r.within], r.note] for r in rows),
    ]
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    lines = []
    for number, line in enumerate(table):
        cells = [cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(line)]
        lines.append("| " + " | ".join(cells) + " |")
        if number == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in [*widths, 6]) + "|")
    memory = ", ".join(f"{k} {v}" for k, v in machine.get("memory", {}).items())
    lines.append("")
    lines.append(
        f"machine: {machine.get('nproc')} CPUs, {memory}, Python {machine.get('python')}, "
        f"{machine.get('platform')}; load average {machine.get('loadavg_at_start')} at start, "
        f"{machine.get('loadavg_at_end')} at end"
    )
    lines += [f"note: {note}" for note in notes]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo")
    mem = {}
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("MemTotal", "MemAvailable"):
                mem[key] = f"{int(value.split()[0]) / 1024 / 1024:.1f} GiB"
    return {
        "nproc": os.cpu_count(),
        "memory": mem,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
