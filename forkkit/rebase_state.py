"""The state of a rebase in progress: what --abort restores and what --continue finishes.

It lives inside the checkout's .git, next to the `git am` it belongs to. rebase writes it,
continue_rebase and abort read it, and export refuses to run while it exists.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from forkkit import gitutil
from forkkit.errors import ForkKitError
from forkkit.jsonfile import malformed, read_versioned, write_versioned

STATE_NAME = "forkkit-rebase.json"


@dataclass
class Saved:
    """Everything --abort restores, captured before the rebase touched anything."""

    head: str
    pin_text: str
    release_text: str
    patches: dict[str, str]
    tags: list[str]
    new_pin_text: str = ""  # the pin of the step a human is finishing by hand
    step_base: str = ""  # that step's old series, base..head, for its range-diff
    step_head: str = ""

    def step_range(self) -> tuple[str, str]:
        return self.step_base, self.step_head


def state_path(checkout: Path) -> Path:
    return gitutil.git_dir(checkout) / STATE_NAME


SCHEMA, VERSION = "forkkit.rebase-in-progress", 1
REMEDY = (
    "finish or undo that rebase with the toolkit version that started it, or delete the file, "
    "`git am --abort` in the checkout and restore upstream/ and patches/ with git"
)


def load_saved(checkout: Path) -> Saved | None:
    path = state_path(checkout)
    data = read_versioned(path, SCHEMA, VERSION, REMEDY)
    if data is None:
        return None
    try:
        return Saved(**data)
    except TypeError as exc:
        raise malformed(path, exc, REMEDY) from None


def store_saved(checkout: Path, saved: Saved) -> None:
    write_versioned(state_path(checkout), SCHEMA, VERSION, asdict(saved))


def clear_saved(checkout: Path) -> None:
    state_path(checkout).unlink(missing_ok=True)


def rebasing(checkout: Path) -> bool:
    return gitutil.open_repo(checkout) is not None and state_path(checkout).is_file()


def refuse_if_rebasing(checkout: Path, verb: str) -> None:
    if rebasing(checkout):
        raise ForkKitError(
            f"a rebase is stopped in {checkout}; {verb} waits until "
            "`nox -s rebase -- --continue` (or `-- --abort`) finishes it"
        )
