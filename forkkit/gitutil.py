"""Small, project-agnostic git helpers over GitPython."""

from __future__ import annotations

import calendar
import os
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import git

from forkkit.errors import ForkKitError

# Commits the tool makes must not depend on the user's git config or the clock, so that a
# fresh CI machine without user.name works and the same inputs give the same commit ids.
FIXED_DATE = "2000-01-01T00:00:00+0000"
TOOL_IDENTITY = {
    "GIT_AUTHOR_NAME": "litellm fork kit",
    "GIT_AUTHOR_EMAIL": "fork-kit@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "litellm fork kit",
    "GIT_COMMITTER_EMAIL": "fork-kit@users.noreply.github.com",
    "GIT_AUTHOR_DATE": FIXED_DATE,
    "GIT_COMMITTER_DATE": FIXED_DATE,
}
# The user's global git config must not change what apply and export produce (diff prefixes,
# abbreviations, signatures, autocrlf, ...), so git runs with only the repository's own config.
# The toolkit reads git's messages ("succeeded at ... (offset 3 lines)", "patch failed: f:12"),
# which git translates; LC_ALL=C keeps them in the one language the parsers know.
NEUTRAL_ENV = {
    "LC_ALL": "C",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_COMMITTER_NAME": TOOL_IDENTITY["GIT_COMMITTER_NAME"],
    "GIT_COMMITTER_EMAIL": TOOL_IDENTITY["GIT_COMMITTER_EMAIL"],
    "GIT_TERMINAL_PROMPT": "0",
}
NEUTRAL_CONFIG = ("-c", "core.autocrlf=false", "-c", "core.safecrlf=false", "-c", "gc.auto=0")


# Patches carry the bytes of the files they change; upstream ships some files with CRLF line
# endings, which `git am` would strip from the patch unless told to keep them.
AM = ("am", "--keep-cr")


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    return {**os.environ, **NEUTRAL_ENV, **(extra or {})}


def _execute(
    repo_dir: Path, args: tuple[str, ...], env: Mapping[str, str] | None, as_bytes: bool = False
) -> str | bytes:
    """git in repo_dir; a failure becomes ForkKitError carrying git's last stderr line."""
    try:
        out = git.Git(str(repo_dir)).execute(
            ["git", *NEUTRAL_CONFIG, *args],
            env=_env(env),
            stdout_as_string=not as_bytes,
            strip_newline_in_stdout=False,
        )
    except git.GitCommandError as exc:
        raise ForkKitError(f"git {args[0]} failed in {repo_dir}: {last_line(exc.stderr)}") from None
    if not isinstance(out, (str, bytes)):
        raise TypeError(f"git {args[0]}: unexpected output type {type(out).__name__}")
    return out


def run(repo_dir: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    return str(_execute(repo_dir, args, env))


def run_bytes(repo_dir: Path, *args: str) -> bytes:
    """Like run, for output that must stay bytes (file contents)."""
    out = _execute(repo_dir, args, None, as_bytes=True)
    return out if isinstance(out, bytes) else out.encode()


def run_unchecked(
    repo_dir: Path, *args: str, env: Mapping[str, str] | None = None
) -> tuple[int, str, str]:
    status, out, err = git.Git(str(repo_dir)).execute(
        ["git", *NEUTRAL_CONFIG, *args],
        env=_env(env),
        with_extended_output=True,
        strip_newline_in_stdout=False,
        with_exceptions=False,
    )
    return int(status), str(out), str(err)


# fast-import deflates every object into its pack at git's default level, which made it slower
# than `git add` (whose loose objects use level 1); level 1 here too, as for a local cache.
FAST_PACK = ("-c", "pack.compression=1")


def commit_files(
    git_dir: Path, ref: str, files: Iterable[tuple[str, int, bytes]], message: str
) -> None:
    """Commit (path, mode, content) triples as the whole tree of a root commit on `ref`.

    `git fast-import` builds it straight into the object store: no work tree is written, and
    nothing is hashed twice. The commit is the tool's (TOOL_IDENTITY), with git's own clean-up
    of a -m message (one trailing newline), so it is the commit `git add` + `git commit` make.
    """
    with tempfile.TemporaryFile() as errors:
        importer = subprocess.Popen(
            [
                "git",
                *NEUTRAL_CONFIG,
                *FAST_PACK,
                "--git-dir",
                str(git_dir),
                "fast-import",
                "--quiet",
                "--done",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=_env(None),
        )
        assert importer.stdin is not None
        try:
            with importer.stdin as stream:
                for chunk in _fast_import_commit(ref, files, message):
                    stream.write(chunk)
        except BrokenPipeError:
            pass  # fast-import stopped early: its exit status and message say why
        except BaseException:  # e.g. an unsafe file: the stream ends without `done`, so no commit
            importer.kill()
            importer.wait()
            raise
        if importer.wait() != 0:
            errors.seek(0)
            raise ForkKitError(f"git fast-import failed in {git_dir}: {last_line(errors.read())}")


def _fast_import_commit(
    ref: str, files: Iterable[tuple[str, int, bytes]], message: str
) -> Iterator[bytes]:
    when = calendar.timegm(time.strptime(FIXED_DATE, "%Y-%m-%dT%H:%M:%S%z"))
    yield f"commit {ref}\n".encode()
    for role in ("AUTHOR", "COMMITTER"):
        name, email = TOOL_IDENTITY[f"GIT_{role}_NAME"], TOOL_IDENTITY[f"GIT_{role}_EMAIL"]
        yield f"{role.lower()} {name} <{email}> {when} +0000\n".encode()
    text = message.rstrip("\n").encode() + b"\n"
    yield b"data %d\n%s" % (len(text), text)
    for path, mode, content in files:
        yield b"M %o inline %s\ndata %d\n%s\n" % (mode, _quoted(path), len(content), content)
    yield b"\ndone\n"


def _quoted(path: str) -> bytes:
    """A path as fast-import reads it: C-style quoted, so any byte is safe."""
    escaped = []
    for byte in path.encode("utf-8", "surrogateescape"):
        if byte in (0x22, 0x5C):
            escaped.append(b"\\" + bytes([byte]))
        elif byte < 0x20 or byte == 0x7F:
            escaped.append(b"\\%03o" % byte)
        else:
            escaped.append(bytes([byte]))
    return b'"' + b"".join(escaped) + b'"'


def mailinfo(mbox: bytes) -> tuple[str, str]:
    """`git mailinfo` over one patch: (its header lines, its commit message), both UTF-8."""
    with tempfile.TemporaryDirectory() as tmp:
        message, diff = Path(tmp) / "message", Path(tmp) / "diff"
        done = subprocess.run(
            ["git", *NEUTRAL_CONFIG, "mailinfo", "-u", str(message), str(diff)],
            input=mbox,
            capture_output=True,
            env=_env(None),
            cwd=tmp,
            check=False,
        )
        if done.returncode != 0:
            raise ForkKitError(f"git mailinfo failed: {last_line(done.stderr)}")
        return done.stdout.decode("utf-8", "replace"), message.read_text("utf-8", "replace")


def last_line(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1].removeprefix("stderr: ").strip("'") if lines else "no details"


def open_repo(path: Path) -> git.Repo | None:
    """The non-bare repository whose top level is path, or None."""
    if not (path / ".git").exists():
        return None
    try:
        repo = git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    if repo.bare or Path(repo.working_tree_dir or "").resolve() != path.resolve():
        return None
    return repo


def rev(repo_dir: Path, name: str) -> str | None:
    status, out, _ = run_unchecked(repo_dir, "rev-parse", "--verify", "--quiet", name)
    return out.strip() if status == 0 else None


def is_dirty(repo_dir: Path) -> bool:
    return bool(run(repo_dir, "status", "--porcelain", "--untracked-files=normal").strip())


def am_in_progress(repo_dir: Path) -> bool:
    return (git_dir(repo_dir) / "rebase-apply").exists()


def git_dir(repo_dir: Path) -> Path:
    return Path(run(repo_dir, "rev-parse", "--absolute-git-dir").strip())


def current_branch(repo_dir: Path) -> str | None:
    status, out, _ = run_unchecked(repo_dir, "symbolic-ref", "--quiet", "--short", "HEAD")
    return out.strip() if status == 0 else None


def commits_between(repo_dir: Path, base: str, tip: str) -> list[str]:
    out = run(repo_dir, "rev-list", "--reverse", f"{base}..{tip}")
    return out.split()


def subject(repo_dir: Path, commit: str) -> str:
    return run(repo_dir, "log", "-1", "--format=%s", commit).strip()


def commits_not_in_upstream(repo_dir: Path, tip: str) -> list[str]:
    """Commits reachable from tip but from no upstream/* import tag, oldest first."""
    return run(repo_dir, "rev-list", "--reverse", tip, "--not", "--tags=upstream/*").split()


def is_ancestor(repo_dir: Path, ancestor: str, descendant: str) -> bool:
    status, _, _ = run_unchecked(repo_dir, "merge-base", "--is-ancestor", ancestor, descendant)
    return status == 0


def fetch_ref(repo_dir: Path, source: Path, source_ref: str, target_ref: str) -> None:
    """Copy one ref (and its objects) from a local repository, overwriting target_ref."""
    run(repo_dir, "fetch", "--quiet", "--no-tags", str(source), f"+{source_ref}:{target_ref}")
