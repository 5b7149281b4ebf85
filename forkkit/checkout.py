"""Materialise the pinned release as a git checkout: one pristine commit, tagged, then `patched`.

Pristine imports are cached as bare repositories keyed by the release's content address, so a
fresh checkout is a local clone and a warm one is left alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from forkkit import gitutil
from forkkit.errors import ForkKitError
from forkkit.fetch import artifact_path, fetch_sdist, sdist_files
from forkkit.pin import Pin
from forkkit.project import Project

PATCHED_BRANCH = "patched"
IMPORT_PREFIX = ".import-"


def pristine_repo_path(cache_dir: Path, pin: Pin) -> Path:
    return cache_dir / "repos" / f"{pin.project}-{pin.version}-{pin.cache_key}.git"


def ensure_pristine(pin: Pin, cache_dir: Path) -> Path:
    """A bare repository in the cache holding the pristine release at tag upstream/<version>.

    A damaged or half-written entry is rebuilt; a damaged cached sdist is fetched again. The
    caller holds the pipeline's lock (forkkit.pipeline.locked).
    """
    target = pristine_repo_path(cache_dir, pin)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f"{IMPORT_PREFIX}*"):  # left by a killed import
        shutil.rmtree(stale, ignore_errors=True)
    if _pristine_is_whole(target, pin):
        sdist = artifact_path(cache_dir, pin.sha256, pin.artifact) if pin.artifact else None
        if pin.source == "index" and sdist and sdist.is_file():
            fetch_sdist(pin, cache_dir)  # re-verified: a copy damaged on disk is replaced
        return target
    if target.exists() or target.is_symlink():  # only a cache entry: rebuild it
        print(f"note: the cache entry {target} is incomplete or damaged; rebuilding it")
        _remove(target)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=IMPORT_PREFIX) as scratch:
        built = Path(scratch) / "repo.git"
        if pin.source == "index":
            _import_sdist(pin, cache_dir, Path(scratch), built)
        else:
            _import_git(pin, built)
        os.replace(built, target)
    return target


def _pristine_is_whole(target: Path, pin: Pin) -> bool:
    """The tag resolves and every object it reaches is present (a half-written copy fails)."""
    if not target.is_dir() or target.is_symlink() or not gitutil.rev(target, pin.upstream_tag):
        return False
    walk = gitutil.run_unchecked(target, "rev-list", "--objects", "--quiet", pin.upstream_tag)
    return walk[0] == 0


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _import_sdist(pin: Pin, cache_dir: Path, scratch: Path, bare: Path) -> None:
    """The sdist's files as one commit, read from the archive into git (nothing extracted)."""
    archive = fetch_sdist(pin, cache_dir)
    gitutil.run(scratch, "init", "--quiet", "--bare", str(bare))
    branch = gitutil.run(bare, "symbolic-ref", "HEAD").strip()
    message = f"Import {pin.project} {pin.version}\n\nsdist {pin.artifact} sha256 {pin.sha256}"
    gitutil.commit_files(bare, branch, sdist_files(archive), message)
    gitutil.run(scratch, "--git-dir", str(bare), "tag", pin.upstream_tag)


def _import_git(pin: Pin, bare: Path) -> None:
    url = pin.url if "://" in pin.url else Path(pin.url).resolve().as_uri()
    gitutil.run(
        bare.parent,
        "clone",
        "--quiet",
        "--bare",
        "--depth",
        "1",
        "--branch",
        pin.tag,
        url,
        str(bare),
    )
    commit = gitutil.rev(bare, f"{pin.tag}^{{commit}}")
    if commit != pin.commit:
        raise ForkKitError(f"tag {pin.tag} of {pin.url} is commit {commit}, pinned {pin.commit}")
    message = f"Import {pin.project} {pin.version}\n\ngit {pin.url} tag {pin.tag} commit {commit}"
    tree = f"{pin.tag}^{{tree}}"
    imported = gitutil.run(bare, "commit-tree", tree, "-m", message, env=gitutil.TOOL_IDENTITY)
    gitutil.run(bare, "tag", pin.upstream_tag, imported.strip())
    gitutil.run(bare, "update-ref", "--no-deref", "HEAD", imported.strip())
    for ref in gitutil.run(bare, "for-each-ref", "--format=%(refname)").split():
        if ref != f"refs/tags/{pin.upstream_tag}":  # the checkout shows only our import tag
            gitutil.run(bare, "update-ref", "-d", ref)


def pristine_tree(pristine: Path, pin: Pin) -> str:
    tree = gitutil.rev(pristine, f"{pin.upstream_tag}^{{tree}}")
    if not tree:
        raise ForkKitError(f"cache entry {pristine} lost tag {pin.upstream_tag}")
    return tree


def ensure_checkout(project: Project, pin: Pin) -> Path:
    """The checkout directory, a git repository that holds tag upstream/<version> of the pin.

    The caller holds the checkout lock. A checkout that is not a usable repository, or whose tag
    holds another tree than the pinned release, is moved aside (never deleted, never patched)
    and rebuilt from the cache.
    """
    checkout = project.checkout_dir
    pristine = ensure_pristine(pin, project.cache_dir)
    expected_tree = pristine_tree(pristine, pin)
    if gitutil.open_repo(checkout) is None:
        _set_aside_if_present(checkout, "was not a usable git checkout")
        _clone(pristine, pin, checkout)
        return checkout
    tag_tree = gitutil.rev(checkout, f"{pin.upstream_tag}^{{tree}}")
    if tag_tree is None:
        tag_ref = f"refs/tags/{pin.upstream_tag}"
        gitutil.fetch_ref(checkout, pristine, tag_ref, tag_ref)
    elif tag_tree != expected_tree:
        _set_aside_if_present(
            checkout, f"has a tag {pin.upstream_tag} that does not hold the pinned release"
        )
        _clone(pristine, pin, checkout)
    return checkout


def _set_aside_if_present(checkout: Path, why: str) -> None:
    """Never delete a broken checkout: it may hold someone's edits. Move it next to itself."""
    if checkout.is_dir() and not checkout.is_symlink() and not any(checkout.iterdir()):
        checkout.rmdir()
    elif checkout.exists() or checkout.is_symlink():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = checkout.with_name(f"{checkout.name}.broken-{stamp}")
        number = 1
        while aside.exists() or aside.is_symlink():
            number += 1
            aside = checkout.with_name(f"{checkout.name}.broken-{stamp}-{number}")
        checkout.rename(aside)
        print(f"note: {checkout} {why}; moved it to {aside} and rebuilt it from the cache")


def _clone(pristine: Path, pin: Pin, checkout: Path) -> None:
    checkout.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{checkout.name}.staging-"
    for stale in checkout.parent.iterdir():  # left by a killed run (we hold the checkout lock)
        if stale.name.startswith(prefix) and stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(dir=checkout.parent, prefix=prefix))
    try:
        gitutil.run(staging, "clone", "--quiet", "--no-checkout", str(pristine), str(staging))
        gitutil.run(staging, "checkout", "--quiet", "-B", PATCHED_BRANCH, pin.upstream_tag)
        os.replace(staging, checkout)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
