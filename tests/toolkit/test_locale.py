"""The toolkit reads git's messages; they must not change with the user's language."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from forkkit.errors import ForkKitError
from forkkit.project import Project
from forkkit.rebase import rebase
from forkkit.report import report_paths
from tests.toolkit.fakes import FakeIndex
from tests.toolkit.rebasing import HEADERS, author, publish, statuses

LOCALE = "de_DE.UTF-8"


@pytest.fixture(scope="module")
def german(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for a German-speaking user, with the locale compiled into a tmp dir.

    Skips only when this machine cannot produce German git output at all.
    """
    if not shutil.which("localedef"):
        pytest.skip("localedef is not installed, so no German locale can be generated")
    where = tmp_path_factory.mktemp("locale")
    made = subprocess.run(
        ["localedef", "-i", "de_DE", "-f", "UTF-8", str(where / LOCALE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if not (where / LOCALE).is_dir():
        pytest.skip(f"localedef could not build {LOCALE}: {made.stderr.strip()[:200]}")
    env = {"LOCPATH": str(where), "LC_ALL": LOCALE, "LANG": LOCALE, "LANGUAGE": "de"}
    if _not_a_repo_message(env) == _not_a_repo_message({"LC_ALL": "C"}):
        pytest.skip("this git has no German translation (git.mo), so its output cannot change")
    return env


def _not_a_repo_message(env: dict[str, str]) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--git-dir"],
        cwd="/",
        env={**os.environ, "GIT_CEILING_DIRECTORIES": "/", **env},
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stderr


def test_rebase_reads_offsets_under_a_german_locale(
    project: Project, index: FakeIndex, german: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    author(project)
    for name, value in german.items():
        monkeypatch.setenv(name, value)
    publish(index, "1.1", "new 1\nnew 2\nnew 3\n" + HEADERS)
    rebase(project, "latest")
    assert [s for _, _, s in statuses(project)] == ["offset", "offset"]
    assert "Hunk #1 succeeded at 30 (offset 3 lines)" in report_paths(project.root)[0].read_text()


def test_conflict_names_the_hunk_under_a_german_locale(
    project: Project, index: FakeIndex, german: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    author(project)
    for name, value in german.items():
        monkeypatch.setenv(name, value)
    publish(index, "1.1", HEADERS.replace("line 5\n", "line 5 upstream\n"))
    with pytest.raises(ForkKitError, match=r"demo/headers\.py hunk #1 @@ -2,7 \+2,7 @@"):
        rebase(project, "1.1")
