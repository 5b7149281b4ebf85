"""The ci/ scripts the GitHub workflows call, offline.

Dry runs from synthetic reports (titles, branches, the body being the Markdown report, the success
versus the conflict path, one-line errors); the real paths against a fake `gh` on PATH and a local
bare git remote; and the rebase/check scripts over synthetic releases on the loopback index.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from forkkit.apply import apply
from forkkit.export import export
from forkkit.project import Project
from forkkit.release import bump
from forkkit.report import PatchOutcome, RebaseReport, StepReport, to_markdown
from forkkit.series import load_series
from tests.toolkit.fakes import BASE_FILES, PATCH_MESSAGE, FakeIndex, commit_edit, git, make_sdist

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "ci"
BODY_START = "----- body -----\n"
BODY_END = "----- end of body -----\n"
MARKER = "Generated-By: ci/open_rebase_pr.py"
HEADERS = BASE_FILES["demo/headers.py"]


# --- synthetic reports -------------------------------------------------------------------------


def rebased_report(tests: str = "passed") -> RebaseReport:
    outcomes = [
        PatchOutcome("0001-passthrough-strip-litellm-key.patch", "clean"),
        PatchOutcome(
            "0002-keep-client-oauth-token.patch",
            "offset",
            "Hunk #1 succeeded at 40 (offset 3 lines) | in utils.py",
        ),
        PatchOutcome("0003-fixed-upstream.patch", "already-upstream", "Applied-Upstream: 1.82.0"),
    ]
    step = StepReport("1.81.12", "1.82.0", outcomes)
    return RebaseReport("litellm", "1.81.12", "1.82.0", [step], "rebased", tests)


def conflict_report(through: bool = False) -> RebaseReport:
    steps = []
    start = "1.81.12"
    if through:
        steps.append(
            StepReport("1.81.12", "1.81.13", [PatchOutcome("0001-a.patch", "clean")], False)
        )
        start = "1.81.13"
    outcomes = [
        PatchOutcome("0001-a.patch", "conflict", "litellm/proxy/auth.py hunk #2 at line 88"),
        PatchOutcome("0002-b.patch", "not-reached", "queued in git am"),
    ]
    steps.append(StepReport(start, "1.81.14", outcomes, True))
    next_steps = ["Resolve the conflict markers.", "`nox -s export`."]
    return RebaseReport("litellm", "1.81.12", "1.82.0", steps, "conflict", "not run", next_steps)


def write_synthetic(directory: Path, report: RebaseReport) -> str:
    """Write report.json and report.md as forkkit does; return the Markdown."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    markdown = to_markdown(report)
    (directory / "report.md").write_text(markdown)
    return markdown


# --- running the scripts -----------------------------------------------------------------------


def script(name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CI / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def body_of(stdout: str) -> str:
    start = stdout.index(BODY_START) + len(BODY_START)
    return stdout[start : stdout.index(BODY_END, start)]


def field(stdout: str, name: str) -> str:
    values = [line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith(name + ":")]
    assert len(values) == 1, f"{name}: appears {len(values)} times in {stdout!r}"
    return values[0]


def outputs(stdout: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in stdout.splitlines() if "=" in line]
    return {name: value for name, value in pairs if name.isidentifier()}


def one_line_error(done: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for word in words:
        assert word in lines[0]


FAKE = """#!{python}
import json, os, sys
args = sys.argv[1:]
entry = {{"tool": os.path.basename(sys.argv[0]), "args": args}}
if "--body-file" in args:
    with open(args[args.index("--body-file") + 1], encoding="utf-8") as body:
        entry["body"] = body.read()
with open(os.environ["FAKE_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(entry) + "\\n")
if os.environ.get("FAKE_FAIL"):
    sys.stderr.write("HTTP 403: Resource not accessible by integration\\n")
    sys.exit(1)
if args[1:2] == ["list"]:
    print(os.environ.get("FAKE_LIST", "[]"))
elif args[1:2] == ["create"]:
    print("https://github.invalid/owner/fork/" + ("pull/12" if args[0] == "pr" else "issues/5"))
"""


@pytest.fixture
def fake_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose `gh` is a fake that logs its calls (with body files) to FAKE_LOG."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    tool = bin_dir / "gh"
    tool.write_text(FAKE.format(python=sys.executable))
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}
    env.pop("GITHUB_OUTPUT", None)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["FAKE_LOG"] = str(tmp_path / "calls.jsonl")
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"] = "ci test"
        env[f"GIT_{role}_EMAIL"] = "ci@example.invalid"
    return env


def calls(env: dict[str, str]) -> list[dict]:
    log = Path(env["FAKE_LOG"])
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def with_fake_git(env: dict[str, str]) -> dict[str, str]:
    """Also put a logging fake `git` first on PATH, to prove a dry run calls nothing."""
    bin_dir = Path(env["PATH"].split(os.pathsep)[0])
    (bin_dir / "git").write_text((bin_dir / "gh").read_text())
    (bin_dir / "git").chmod(0o755)
    return env


# --- open_rebase_pr.py: dry run ------------------------------------------------------------------


def test_pr_dry_run_prints_title_branch_and_the_report_as_body(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    markdown = write_synthetic(tmp_path / "rep", rebased_report())
    done = script(
        "open_rebase_pr.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=fake_env
    )
    assert done.returncode == 0, done.stderr
    assert field(done.stdout, "title") == "Rebase litellm 1.81.12 → 1.82.0"
    assert field(done.stdout, "branch") == "upstream/rebase-1.82.0"
    assert field(done.stdout, "base") == "main"
    assert field(done.stdout, "draft") == "no"
    assert field(done.stdout, "commit") == "upstream/ patches/ docs/rebases/"
    assert body_of(done.stdout) == markdown
    assert "already upstream (dropped)" in body_of(done.stdout)


def test_pr_dry_run_calls_neither_git_nor_gh(tmp_path: Path, fake_env: dict[str, str]) -> None:
    write_synthetic(tmp_path / "rep", rebased_report())
    env = with_fake_git(fake_env)
    done = script("open_rebase_pr.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=env)
    assert done.returncode == 0, done.stderr
    assert calls(env) == []


def test_pr_is_a_draft_when_the_behaviour_suite_failed(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    write_synthetic(tmp_path / "rep", rebased_report(tests="failed"))
    args = ("--dry-run", "--report-dir", str(tmp_path / "rep"), "--base", "release")
    done = script("open_rebase_pr.py", *args, env=fake_env)
    assert field(done.stdout, "draft") == "yes"
    assert field(done.stdout, "base") == "release"
    assert "**failed**" in body_of(done.stdout)


def test_pr_refuses_a_conflict_report(tmp_path: Path, fake_env: dict[str, str]) -> None:
    write_synthetic(tmp_path / "rep", conflict_report())
    done = script(
        "open_rebase_pr.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=fake_env
    )
    one_line_error(done, 2, "'conflict'", "report_conflict.py")
    assert BODY_START not in done.stdout


@pytest.mark.parametrize("name", ["open_rebase_pr.py", "report_conflict.py"])
def test_missing_report_is_one_line(tmp_path: Path, fake_env: dict[str, str], name: str) -> None:
    done = script(name, "--dry-run", "--report-dir", str(tmp_path / "nowhere"), env=fake_env)
    one_line_error(done, 2, "no rebase report", "report.json")


@pytest.mark.parametrize("name", ["open_rebase_pr.py", "report_conflict.py"])
def test_malformed_report_is_one_line(tmp_path: Path, fake_env: dict[str, str], name: str) -> None:
    write_synthetic(tmp_path / "rep", rebased_report())
    (tmp_path / "rep" / "report.json").write_text('{"project": "litellm", ')
    done = script(name, "--dry-run", "--report-dir", str(tmp_path / "rep"), env=fake_env)
    one_line_error(done, 2, "not valid JSON")


def test_report_fields_that_would_make_odd_branch_names_are_refused(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    report = rebased_report()
    report.steps[0].to_version = "1.82.0 --force"
    write_synthetic(tmp_path / "rep", report)
    done = script(
        "open_rebase_pr.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=fake_env
    )
    one_line_error(done, 2, "not a plain name or version")


# --- report_conflict.py: dry run -----------------------------------------------------------------


def test_conflict_dry_run_prints_title_and_the_report_as_body(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    markdown = write_synthetic(tmp_path / "rep", conflict_report())
    env = with_fake_git(fake_env)
    done = script("report_conflict.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=env)
    assert done.returncode == 0, done.stderr
    assert field(done.stdout, "title") == "Upstream rebase conflict: litellm 1.81.12 → 1.81.14"
    assert field(done.stdout, "conflicts") == "0001-a.patch"
    assert body_of(done.stdout) == markdown
    assert "branch:" not in done.stdout
    assert calls(env) == []


def test_conflict_title_names_the_release_a_walk_stopped_at(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    write_synthetic(tmp_path / "rep", conflict_report(through=True))
    done = script(
        "report_conflict.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=fake_env
    )
    assert field(done.stdout, "title") == "Upstream rebase conflict: litellm 1.81.12 → 1.81.14"


def test_conflict_script_refuses_a_successful_report(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    write_synthetic(tmp_path / "rep", rebased_report())
    done = script(
        "report_conflict.py", "--dry-run", "--report-dir", str(tmp_path / "rep"), env=fake_env
    )
    one_line_error(done, 2, "'rebased'", "open_rebase_pr.py")


def test_default_report_dir_is_work_rebase(tmp_path: Path, fake_env: dict[str, str]) -> None:
    markdown = write_synthetic(tmp_path / ".work" / "rebase", conflict_report())
    done = subprocess.run(
        [sys.executable, str(CI / "report_conflict.py"), "--dry-run"],
        cwd=tmp_path,
        env=fake_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert body_of(done.stdout) == markdown


# --- report_conflict.py: against a fake gh -------------------------------------------------------


def test_conflict_opens_an_issue_when_none_is_open(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    markdown = write_synthetic(tmp_path / "rep", conflict_report())
    fake_env["GITHUB_OUTPUT"] = str(tmp_path / "out.txt")
    done = script("report_conflict.py", "--report-dir", str(tmp_path / "rep"), env=fake_env)
    assert done.returncode == 0, done.stderr
    made = calls(fake_env)
    assert [c["args"][:2] for c in made] == [["issue", "list"], ["issue", "create"]]
    create = made[1]
    assert create["args"][create["args"].index("--title") + 1] == (
        "Upstream rebase conflict: litellm 1.81.12 → 1.81.14"
    )
    assert create["body"] == markdown
    assert (
        "issue_url=https://github.invalid/owner/fork/issues/5" in (tmp_path / "out.txt").read_text()
    )


def test_conflict_updates_the_open_issue_instead_of_opening_another(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    markdown = write_synthetic(tmp_path / "rep", conflict_report())
    fake_env["FAKE_LIST"] = json.dumps(
        [
            {
                "number": 3,
                "title": "Upstream rebase conflict: other 1.0 → 1.1",
                "body": "x",
                "url": "u3",
            },
            {
                "number": 9,
                "title": "Upstream rebase conflict: litellm 1.81.12 → 1.81.13",
                "body": "old report",
                "url": "https://github.invalid/owner/fork/issues/9",
            },
        ]
    )
    done = script("report_conflict.py", "--report-dir", str(tmp_path / "rep"), env=fake_env)
    assert done.returncode == 0, done.stderr
    made = calls(fake_env)
    assert [c["args"][:3] for c in made] == [
        ["issue", "list", "--state"],
        ["issue", "edit", "9"],
        ["issue", "comment", "9"],
    ]
    assert made[1]["body"] == markdown
    assert "1.81.14" in made[1]["args"][made[1]["args"].index("--title") + 1]


def test_conflict_leaves_an_up_to_date_issue_alone(
    tmp_path: Path, fake_env: dict[str, str]
) -> None:
    markdown = write_synthetic(tmp_path / "rep", conflict_report())
    title = "Upstream rebase conflict: litellm 1.81.12 → 1.81.14"
    fake_env["FAKE_LIST"] = json.dumps(
        [{"number": 9, "title": title, "body": markdown, "url": "u"}]
    )
    done = script("report_conflict.py", "--report-dir", str(tmp_path / "rep"), env=fake_env)
    assert done.returncode == 0, done.stderr
    assert [c["args"][1] for c in calls(fake_env)] == ["list"]
    assert "up to date" in done.stderr


def test_gh_failure_is_one_line(tmp_path: Path, fake_env: dict[str, str]) -> None:
    write_synthetic(tmp_path / "rep", conflict_report())
    fake_env["FAKE_FAIL"] = "1"
    done = script("report_conflict.py", "--report-dir", str(tmp_path / "rep"), env=fake_env)
    one_line_error(done, 1, "gh issue list", "403")


# --- open_rebase_pr.py: a real git repository, a bare remote and a fake gh -----------------------


@pytest.fixture
def repo(tmp_path: Path, fake_env: dict[str, str]) -> Path:
    """A clone of a bare `origin` with main holding a pin and a series, as the fork would."""
    origin, clone = tmp_path / "origin.git", tmp_path / "clone"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "clone", "--quiet", str(origin), str(clone)], check=True, env=fake_env)
    (clone / "upstream").mkdir()
    (clone / "upstream" / "pin.toml").write_text('version = "1.81.12"\n')
    (clone / "patches").mkdir()
    (clone / "patches" / "series").write_text("0001-a.patch\n")
    (clone / "patches" / "0001-a.patch").write_text("old patch\n")
    (clone / "README.md").write_text("fork\n")
    git(clone, "symbolic-ref", "HEAD", "refs/heads/main")
    git(clone, "add", ".")
    git(clone, "commit", "--quiet", "-m", "initial")
    git(clone, "push", "--quiet", "origin", "main")
    return clone


def rebase_changes(clone: Path) -> None:
    """What a successful rebase leaves in the work tree (or `git apply` of its diff)."""
    git(clone, "checkout", "--quiet", "main")
    (clone / "upstream" / "pin.toml").write_text('version = "1.82.0"\n')
    (clone / "patches" / "0001-a.patch").write_text("ported patch\n")
    (clone / "docs" / "rebases").mkdir(parents=True, exist_ok=True)
    (clone / "docs" / "rebases" / "1.81.12-to-1.82.0.md").write_text("# report\n")


def remote_head(clone: Path, branch: str) -> str:
    out = git(clone, "ls-remote", "origin", f"refs/heads/{branch}").split()
    return out[0] if out else ""


BRANCH = "upstream/rebase-1.82.0"


def test_pr_commits_pushes_and_opens(tmp_path: Path, fake_env: dict[str, str], repo: Path) -> None:
    markdown = write_synthetic(tmp_path / "rep", rebased_report())
    main_before = remote_head(repo, "main")
    rebase_changes(repo)
    args = (
        "--report-dir",
        str(tmp_path / "rep"),
        "--root",
        str(repo),
        "--dispatch-workflow",
        "test.yml",
    )
    done = script("open_rebase_pr.py", *args, env=fake_env)
    assert done.returncode == 0, done.stderr
    tip = remote_head(repo, BRANCH)
    assert tip and remote_head(repo, "main") == main_before
    assert git(repo, "show", f"{tip}:upstream/pin.toml") == 'version = "1.82.0"\n'
    assert git(repo, "show", f"{tip}:docs/rebases/1.81.12-to-1.82.0.md") == "# report\n"
    assert git(repo, "rev-parse", f"{tip}^") == git(repo, "rev-parse", main_before)
    message = git(repo, "log", "-1", "--format=%B", tip)
    assert message.startswith("Rebase litellm 1.81.12 → 1.82.0\n") and MARKER in message
    made = calls(fake_env)
    assert [c["args"][:2] for c in made] == [["pr", "list"], ["pr", "create"], ["workflow", "run"]]
    create = made[1]["args"]
    assert create[create.index("--head") + 1] == BRANCH
    assert create[create.index("--base") + 1] == "main"
    assert create[create.index("--title") + 1] == "Rebase litellm 1.81.12 → 1.82.0"
    assert "--draft" not in create
    assert made[1]["body"] == markdown
    assert made[2]["args"] == ["workflow", "run", "test.yml", "--ref", BRANCH]
    assert "pr_url=https://github.invalid/owner/fork/pull/12" in done.stdout


def test_pr_rerun_with_the_same_rebase_pushes_nothing(
    tmp_path: Path, fake_env: dict[str, str], repo: Path
) -> None:
    markdown = write_synthetic(tmp_path / "rep", rebased_report())
    rebase_changes(repo)
    args = (
        "--report-dir",
        str(tmp_path / "rep"),
        "--root",
        str(repo),
        "--dispatch-workflow",
        "test.yml",
    )
    assert script("open_rebase_pr.py", *args, env=fake_env).returncode == 0
    first = remote_head(repo, BRANCH)
    Path(fake_env["FAKE_LOG"]).unlink()
    rebase_changes(repo)  # the next day's run: a fresh checkout of main, the same rebase
    title = "Rebase litellm 1.81.12 → 1.82.0"
    fake_env["FAKE_LIST"] = json.dumps(
        [{"number": 12, "title": title, "body": markdown, "url": "u"}]
    )
    done = script("open_rebase_pr.py", *args, env=fake_env)
    assert done.returncode == 0, done.stderr
    assert remote_head(repo, BRANCH) == first
    assert [c["args"][:2] for c in calls(fake_env)] == [["pr", "list"]]


def test_pr_updates_its_own_branch_but_not_a_human_one(
    tmp_path: Path, fake_env: dict[str, str], repo: Path
) -> None:
    write_synthetic(tmp_path / "rep", rebased_report())
    rebase_changes(repo)
    args = ("--report-dir", str(tmp_path / "rep"), "--root", str(repo))
    assert script("open_rebase_pr.py", *args, env=fake_env).returncode == 0
    rebase_changes(repo)
    (repo / "patches" / "0001-a.patch").write_text("ported differently\n")
    fake_env["FAKE_LIST"] = json.dumps([{"number": 12, "title": "t", "body": "b", "url": "u"}])
    assert script("open_rebase_pr.py", *args, env=fake_env).returncode == 0
    tip = remote_head(repo, BRANCH)
    assert git(repo, "show", f"{tip}:patches/0001-a.patch") == "ported differently\n"
    assert [c["args"][:3] for c in calls(fake_env)][-1] == ["pr", "edit", "12"]

    git(repo, "commit", "--quiet", "--allow-empty", "-m", "a maintainer's fix on the branch")
    git(repo, "push", "--quiet", "origin", f"HEAD:refs/heads/{BRANCH}")
    human = remote_head(repo, BRANCH)
    rebase_changes(repo)
    (repo / "patches" / "0001-a.patch").write_text("ported a third way\n")
    done = script("open_rebase_pr.py", *args, env=fake_env)
    one_line_error(done, 1, "did not make", "not overwriting")
    assert remote_head(repo, BRANCH) == human


def test_pr_with_nothing_to_commit_is_one_line(
    tmp_path: Path, fake_env: dict[str, str], repo: Path
) -> None:
    write_synthetic(tmp_path / "rep", rebased_report())
    done = script(
        "open_rebase_pr.py",
        "--report-dir",
        str(tmp_path / "rep"),
        "--root",
        str(repo),
        env=fake_env,
    )
    one_line_error(done, 2, "nothing changed")
    assert calls(fake_env) == []


# --- upstream_check.py and run_rebase.py over synthetic releases ---------------------------------


def publish(index: FakeIndex, version: str, headers: str = HEADERS) -> None:
    files = {**BASE_FILES, "demo/headers.py": headers, "demo/__init__.py": f"V = '{version}'\n"}
    index.publish("demo", version, make_sdist("demo", version, files))


def test_check_finds_the_newest_release(project: Project, index: FakeIndex, tmp_path: Path) -> None:
    publish(index, "1.1")
    publish(index, "1.2")
    out_file = tmp_path / "github_output"
    env = {**os.environ, "GITHUB_OUTPUT": str(out_file)}
    done = script("upstream_check.py", "--root", str(project.root), env=env)
    assert done.returncode == 0, done.stderr
    assert outputs(done.stdout) == {"new_release": "true", "target": "1.2", "pinned": "1.0"}
    assert out_file.read_text() == "new_release=true\ntarget=1.2\npinned=1.0\n"

    out_file.unlink()
    done = script(
        "upstream_check.py", "--root", str(project.root), "--target", "1.1", "--dry-run", env=env
    )
    assert outputs(done.stdout)["target"] == "1.1"
    assert not out_file.exists()


def test_check_with_nothing_newer_says_false(project: Project, index: FakeIndex) -> None:
    done = script("upstream_check.py", "--root", str(project.root))
    assert done.returncode == 0, done.stderr
    assert outputs(done.stdout) == {"new_release": "false", "target": "", "pinned": "1.0"}


@pytest.mark.parametrize("target", ["1.0", "0.9", "banana"])
def test_check_refuses_a_target_that_is_not_newer(
    project: Project, index: FakeIndex, target: str
) -> None:
    publish(index, "1.1")
    done = script("upstream_check.py", "--root", str(project.root), "--target", target)
    one_line_error(done, 2)


def authored(project: Project, edit: tuple[str, str] = ("line 5\n", "line five\n")) -> None:
    """One patch in the series, and the project committed in its own git repository."""
    checkout = apply(project).checkout
    commit_edit(checkout, "demo/headers.py", *edit, PATCH_MESSAGE.format(subject="spell out five"))
    export(project)
    bump(project.release_file, load_series(project.series_file))
    git(project.root, "init", "--quiet", "-b", "main")
    (project.root / ".gitignore").write_text("/.work/\n")
    git(project.root, "add", ".")
    git(project.root, "commit", "--quiet", "-m", "fork")


def test_rebase_success_exports_the_diff_and_feeds_the_pr(
    project: Project, index: FakeIndex, tmp_path: Path
) -> None:
    authored(project)
    publish(index, "1.1")
    out = tmp_path / "out"
    args = ("1.1", "--root", str(project.root), "--no-tests", "--export-dir", str(out))
    done = script("run_rebase.py", *args)
    assert done.returncode == 0, done.stderr
    assert outputs(done.stdout) == {"result": "rebased", "version": "1.1", "tests": "not run"}
    diff = (out / "changes.diff").read_text()
    assert "upstream/pin.toml" in diff and '+version = "1.1"' in diff
    assert "docs/rebases/1.0-to-1.1.md" in diff
    assert (out / "report.md").read_text() == (project.root / ".work/rebase/report.md").read_text()

    pr = script("open_rebase_pr.py", "--dry-run", "--report-dir", str(out))
    assert pr.returncode == 0, pr.stderr
    assert field(pr.stdout, "title") == "Rebase demo 1.0 → 1.1"
    assert field(pr.stdout, "branch") == "upstream/rebase-1.1"
    assert body_of(pr.stdout) == (out / "report.md").read_text()
    assert script("report_conflict.py", "--dry-run", "--report-dir", str(out)).returncode == 2


def test_rebase_conflict_is_an_outcome_and_feeds_the_issue(
    project: Project, index: FakeIndex, tmp_path: Path
) -> None:
    authored(project)
    publish(index, "1.1", HEADERS.replace("line 5\n", "line 5 upstream\n"))
    out = tmp_path / "out"
    args = ("1.1", "--root", str(project.root), "--no-tests", "--export-dir", str(out))
    done = script("run_rebase.py", *args)
    assert done.returncode == 0, done.stderr
    assert outputs(done.stdout) == {"result": "conflict", "version": "1.1", "tests": "not run"}
    assert not (out / "changes.diff").exists()

    issue = script("report_conflict.py", "--dry-run", "--report-dir", str(out))
    assert issue.returncode == 0, issue.stderr
    assert field(issue.stdout, "title") == "Upstream rebase conflict: demo 1.0 → 1.1"
    assert field(issue.stdout, "conflicts") == "0001-spell-out-five.patch"
    assert body_of(issue.stdout) == (out / "report.md").read_text()
    assert "CONFLICT" in body_of(issue.stdout)
    assert script("open_rebase_pr.py", "--dry-run", "--report-dir", str(out)).returncode == 2


def test_rebase_without_a_report_fails_in_one_line(project: Project, index: FakeIndex) -> None:
    done = script("run_rebase.py", "latest", "--root", str(project.root), "--no-tests")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("error: the rebase failed before")
    assert "Traceback" not in done.stderr


def test_rebase_dry_run_runs_nothing(project: Project, index: FakeIndex) -> None:
    publish(index, "1.1")
    done = script("run_rebase.py", "1.1", "--root", str(project.root), "--dry-run", "--through")
    assert done.returncode == 0, done.stderr
    assert "-s rebase -- 1.1 --record --through" in done.stdout
    quick = script("run_rebase.py", "1.1", "--root", str(project.root), "--dry-run", "--no-tests")
    assert "-m forkkit --root" in quick.stdout and "rebase 1.1 --record" in quick.stdout
    assert not (project.root / ".work" / "rebase").exists()
