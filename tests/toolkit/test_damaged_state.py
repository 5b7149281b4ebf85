"""Damaged downloads, cache entries and checkouts are discarded or set aside, then rebuilt."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from forkkit.apply import apply
from forkkit.checkout import pristine_repo_path
from forkkit.fetch import artifact_path
from forkkit.pin import Pin
from forkkit.project import Project
from tests.toolkit.fakes import FakeIndex, git, make_project
from tests.toolkit.faults import (
    assert_matches_gen_series,
    cache_snapshot,
    one_error_line,
    run_cli,
    write_gen_series,
)

# --- damaged downloads and cache entries ---------------------------------------------------


def test_truncated_download_is_discarded(tmp_path: Path, index: FakeIndex, release: Pin) -> None:
    """The index serves the file cut short (a proxy that truncates, with a matching length)."""
    route = index.routes["/files/demo-1.0.tar.gz"]
    index.routes["/files/demo-1.0.tar.gz"] = (route[0], route[1][: len(route[1]) // 2])
    project = make_project(tmp_path / "project", release)
    done = run_cli(project, "apply")
    assert "the download was discarded and nothing was extracted" in one_error_line(done)
    assert cache_snapshot(project.cache_dir) == {}


@pytest.mark.parametrize("next_run", ["fetch", "apply", "apply-rebuilding"])
def test_artifact_damaged_on_disk_is_removed_and_fetched_again(
    project: Project, index: FakeIndex, release: Pin, next_run: str
) -> None:
    apply(project)
    cached = artifact_path(project.cache_dir, release.sha256, release.artifact)
    good = cached.read_bytes()
    cached.write_bytes(good[: len(good) // 2] + b"bit rot")
    downloads = index.requests.count("/files/demo-1.0.tar.gz")
    if next_run == "apply-rebuilding":  # the pristine repo and the checkout must be rebuilt
        subprocess.run(
            ["rm", "-rf", str(pristine_repo_path(project.cache_dir, release))], check=True
        )
        subprocess.run(["rm", "-rf", str(project.checkout_dir)], check=True)
    if next_run == "fetch":
        done = run_cli(project, "fetch")
        assert done.returncode == 0, done.stderr
        assert "removed a damaged cached demo-1.0.tar.gz" in done.stdout
    else:
        apply(project)
    assert cached.read_bytes() == good
    assert index.requests.count("/files/demo-1.0.tar.gz") == downloads + 1
    assert not list(cached.parent.glob(".part-*"))
    assert_matches_gen_series(project, 0)


def damage_pristine(repo: Path, how: str) -> None:
    if how == "empty-dir":
        subprocess.run(["rm", "-rf", str(repo)], check=True)
        repo.mkdir()
    elif how == "init-only":  # an import killed before its commit, by a non-atomic writer
        subprocess.run(["rm", "-rf", str(repo)], check=True)
        git(repo.parent, "init", "--quiet", "--bare", str(repo))
    elif how == "objects-lost":
        for loose in repo.glob("objects/??"):
            subprocess.run(["rm", "-rf", str(loose)], check=True)
    elif how == "one-blob-lost":
        blob = git(repo, "rev-parse", "upstream/1.0:demo/headers.py").strip()
        (repo / "objects" / blob[:2] / blob[2:]).unlink()
    elif how == "import-scratch-left":  # a killed import's scratch next to a whole entry
        (repo.parent / ".import-abc123" / "src").mkdir(parents=True)


@pytest.mark.parametrize(
    "how", ["empty-dir", "init-only", "objects-lost", "one-blob-lost", "import-scratch-left"]
)
def test_half_written_pristine_repo_is_rebuilt(project: Project, release: Pin, how: str) -> None:
    apply(project)
    subprocess.run(["rm", "-rf", str(project.checkout_dir)], check=True)  # so it is cloned again
    repo = pristine_repo_path(project.cache_dir, release)
    damage_pristine(repo, how)
    write_gen_series(project, 2)
    assert apply(project).applied is True
    assert git(repo, "rev-list", "--objects", "upstream/1.0").count("\n") > 3
    assert list(repo.parent.glob(".import-*")) == []
    assert_matches_gen_series(project, 2)


# --- a corrupted checkout is set aside and rebuilt -----------------------------------------


def asides(project: Project) -> list[Path]:
    return sorted(project.checkout_dir.parent.glob(f"{project.checkout_dir.name}.broken-*"))


def corrupt_checkout(checkout: Path, how: str) -> None:
    if how == "empty-dir":
        subprocess.run(["rm", "-rf", str(checkout)], check=True)
        checkout.mkdir()
    elif how == "no-git":
        subprocess.run(["rm", "-rf", str(checkout / ".git")], check=True)
        (checkout / "notes.txt").write_text("a human's notes\n")
    elif how == "broken-git":
        subprocess.run(["rm", "-rf", str(checkout / ".git")], check=True)
        (checkout / ".git").mkdir()
        (checkout / "notes.txt").write_text("a human's notes\n")
    elif how == "a-file":
        subprocess.run(["rm", "-rf", str(checkout)], check=True)
        checkout.write_text("a human's notes\n")
    elif how == "wrong-tag":  # upstream/1.0 moved to another tree; a human's branch is there
        git(checkout, "checkout", "--quiet", "-b", "mine", "upstream/1.0")
        (checkout / "README.md").write_text("not the release\n")
        git(checkout, "commit", "--quiet", "-am", "not the release")
        git(checkout, "tag", "--force", "upstream/1.0", "mine")


@pytest.mark.parametrize("how", ["empty-dir", "no-git", "broken-git", "a-file", "wrong-tag"])
def test_corrupted_checkout_is_set_aside_and_rebuilt(
    project: Project, release: Pin, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_gen_series(project, 2)
    apply(project)
    checkout = project.checkout_dir
    corrupt_checkout(checkout, how)
    capsys.readouterr()

    assert apply(project).applied is True

    said = capsys.readouterr().out
    pristine = pristine_repo_path(project.cache_dir, release)
    assert git(checkout, "rev-parse", "upstream/1.0^{tree}") == git(
        pristine, "rev-parse", "upstream/1.0^{tree}"
    )
    assert_matches_gen_series(project, 2)
    if how == "empty-dir":
        assert asides(project) == [] and said == ""
        return
    (aside,) = asides(project)
    assert f"moved it to {aside}" in said
    if how == "a-file":
        assert aside.read_text() == "a human's notes\n"
    elif how == "wrong-tag":
        assert "does not hold the pinned release" in said
        assert git(aside, "log", "-1", "--format=%s", "mine").strip() == "not the release"
        assert git(aside, "rev-parse", "upstream/1.0") == git(aside, "rev-parse", "mine")
    else:
        assert (aside / "notes.txt").read_text() == "a human's notes\n"
        assert (aside / "demo/gen/f002.py").read_text() == "value = 2\n"


def test_set_aside_never_overwrites_an_earlier_one(project: Project) -> None:
    apply(project)
    checkout = project.checkout_dir
    now = time.time()
    earlier = []
    for offset in range(6):  # every name a set-aside could pick in the next few seconds
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now + offset))
        aside = checkout.with_name(f"{checkout.name}.broken-{stamp}")
        aside.mkdir()
        (aside / "kept.txt").write_text(stamp)
        earlier.append(aside)
    subprocess.run(["rm", "-rf", str(checkout / ".git")], check=True)
    (checkout / "notes.txt").write_text("a human's notes\n")

    apply(project)

    assert all((a / "kept.txt").read_text() == a.name.split("-", 1)[1] for a in earlier)
    (new,) = [a for a in asides(project) if a not in earlier]
    assert (new / "notes.txt").read_text() == "a human's notes\n"
    assert_matches_gen_series(project, 0)
