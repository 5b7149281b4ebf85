"""Shared by the rebase tests: a two-patch series on the synthetic release, newer releases to
rebase it onto, and what the rebase report says about each patch."""

from __future__ import annotations

import json
from pathlib import Path

from forkkit.apply import apply
from forkkit.export import export
from forkkit.project import Project
from forkkit.release import bump
from forkkit.report import report_paths
from forkkit.series import load_series
from tests.toolkit.fakes import BASE_FILES, PATCH_MESSAGE, FakeIndex, commit_edit, make_sdist

FIVE = "headers: spell out line five"
THIRTY = "headers: spell out line thirty"
HEADERS = BASE_FILES["demo/headers.py"]


def publish(index: FakeIndex, version: str, headers: str) -> None:
    files = {**BASE_FILES, "demo/headers.py": headers, "demo/__init__.py": f"V = '{version}'\n"}
    index.publish("demo", version, make_sdist("demo", version, files))


def author(project: Project, five_trailer: str = "") -> Path:
    checkout = apply(project).checkout
    message = PATCH_MESSAGE.format(subject=FIVE) + five_trailer
    commit_edit(checkout, "demo/headers.py", "line 5\n", "line five\n", message)
    commit_edit(
        checkout,
        "demo/headers.py",
        "line 30\n",
        "line thirty\n",
        PATCH_MESSAGE.format(subject=THIRTY),
    )
    export(project)
    bump(project.release_file, load_series(project.series_file))
    return checkout


def statuses(project: Project) -> list[tuple[str, str, str]]:
    data = json.loads(report_paths(project.root)[1].read_text())
    return [
        (s["to_version"], o["patch"][:-6], o["status"])
        for s in data["steps"]
        for o in s["outcomes"]
    ]


def snapshot(project: Project) -> dict[str, bytes]:
    files = [project.pin_file, project.release_file, *project.patches_dir.iterdir()]
    return {str(p.relative_to(project.root)): p.read_bytes() for p in files}
