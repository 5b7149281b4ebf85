"""Where things live: the repository's pin and series, the checkout, the cache."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "FORKKIT_CACHE"
CHECKOUT_ENV = "FORKKIT_CHECKOUT"


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def pin_file(self) -> Path:
        return self.root / "upstream" / "pin.toml"

    @property
    def patches_dir(self) -> Path:
        return self.root / "patches"

    @property
    def series_file(self) -> Path:
        return self.patches_dir / "series"

    @property
    def release_file(self) -> Path:
        return self.patches_dir / "release.toml"

    @property
    def checkout_dir(self) -> Path:
        override = os.environ.get(CHECKOUT_ENV)
        return Path(override) if override else self.work_dir / "litellm"

    @property
    def cache_dir(self) -> Path:
        return default_cache_dir()

    @property
    def dist_dir(self) -> Path:
        return self.root / "dist"

    # .work/: what the toolkit keeps between runs (git-ignored; docs/state.md describes it)
    @property
    def work_dir(self) -> Path:
        return self.root / ".work"

    @property
    def rebase_report_md(self) -> Path:
        return self.work_dir / "rebase" / "report.md"

    @property
    def rebase_report_json(self) -> Path:
        return self.work_dir / "rebase" / "report.json"

    @property
    def test_passes_dir(self) -> Path:
        return self.work_dir / "test-passes"

    @property
    def bench_dir(self) -> Path:
        return self.work_dir / "bench"


def default_cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "litellm-fork-kit"
