#!/usr/bin/env python3
"""Open (or update) the pull request for a successful upstream rebase.

Reads report.json and report.md from --report-dir (default .work/rebase). The report must say
`rebased`. Commits what the rebase changed under upstream/ patches/ docs/rebases/ on branch
`upstream/rebase-<version>` (one commit on top of the current HEAD), pushes it, and opens a pull
request into --base whose body is the Markdown report, or updates the open one for that branch.
The pull request is a draft when the report says the behaviour suite failed.

Re-running is safe: when the branch on the remote already has the same tree nothing is pushed,
and a branch whose tip this script did not make (a human pushed to it) is never overwritten.
With --dispatch-workflow FILE it starts that workflow on the branch after a push, because pushes
made with a workflow's GITHUB_TOKEN do not trigger `push`/`pull_request` workflows.

--dry-run prints the title, branch and body it would use and calls neither git nor gh.
Needs git and an authenticated `gh` (GH_TOKEN in CI). Exit codes: see ci/cilib.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from cilib import (
    EXIT_INPUT,
    REBASE_PATHS,
    CIError,
    Report,
    body_text,
    gh_json,
    print_body,
    run,
    run_main,
    set_outputs,
)
from publish import body_file, created_url, is_up_to_date, parser_for, require_report

MARKER = "Generated-By: ci/open_rebase_pr.py"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = parser_for(__doc__, "print the pull request, call neither git nor gh")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the git repository")
    parser.add_argument("--base", default="main", help="branch the pull request goes into")
    parser.add_argument("--remote", default="origin", help="git remote to push to")
    parser.add_argument(
        "--dispatch-workflow", metavar="FILE", help="workflow to start on the branch after a push"
    )
    return parser.parse_args(argv)


def branch_for(report: Report) -> str:
    return f"upstream/rebase-{report.reached}"


def title_for(report: Report) -> str:
    return f"Rebase {report.project} {report.from_version} → {report.reached}"


def commit_message(report: Report) -> str:
    lines = [
        title_for(report),
        "",
        f"Carries the patch series from {report.project} {report.from_version} to "
        f"{report.reached}; behaviour suite: {report.tests}.",
        "The per-patch report is the pull request's description.",
        "",
        MARKER,
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = require_report(args.report_dir, "rebased", "a conflict goes to ci/report_conflict.py")
    if args.base.startswith("-") or args.remote.startswith("-"):
        raise CIError("--base and --remote must be names", EXIT_INPUT)
    title, branch, body = title_for(report), branch_for(report), body_text(report.markdown)
    draft = report.tests == "failed"
    if args.dry_run:
        print("would open or update a pull request")
        print(f"title: {title}")
        print(f"branch: {branch}")
        print(f"base: {args.base}")
        print(f"draft: {'yes' if draft else 'no'}")
        print(f"commit: {' '.join(p + '/' for p in REBASE_PATHS)}")
        print_body(body)
        return 0

    root = args.root.resolve()
    pushed = commit_and_push(root, args.remote, branch, commit_message(report))
    url = upsert_pull_request(root, args.base, branch, title, body, draft)
    if pushed and args.dispatch_workflow:
        run(["gh", "workflow", "run", args.dispatch_workflow, "--ref", branch], cwd=root)
        print(f"started {args.dispatch_workflow} on {branch}", file=sys.stderr)
    set_outputs({"branch": branch, "pr_url": url})
    return 0


def _git(root: Path, *args: str, network: bool = False) -> list[str]:
    # In CI the checkout keeps no credentials (persist-credentials: false); gh hands git the
    # token from GH_TOKEN for this one command. Locally the user's own git setup is used.
    auth: list[str] = []
    if network and (os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN")):
        auth = ["-c", "credential.helper=", "-c", "credential.helper=!gh auth git-credential"]
    return ["git", *auth, "-C", str(root), *args]


def commit_and_push(root: Path, remote: str, branch: str, message: str) -> bool:
    """Commit the rebase on `branch` and push it; False when the remote already had that tree."""
    paths = [p for p in REBASE_PATHS if (root / p).exists()]
    if not run(_git(root, "status", "--porcelain", "--", *paths)).strip():
        raise CIError(
            f"nothing changed under {', '.join(paths)}; run the rebase (or apply its diff) first",
            EXIT_INPUT,
        )
    run(_git(root, "checkout", "--quiet", "-B", branch))
    run(_git(root, "add", "--all", "--", *paths))
    run(_git(root, "commit", "--quiet", "--no-verify", "-m", message, "--", *paths))
    ref = f"refs/heads/{branch}"
    listed = run(_git(root, "ls-remote", remote, ref, network=True)).split()
    if not listed:
        run(_git(root, "push", "--quiet", remote, f"HEAD:{ref}", network=True))
        print(f"pushed {branch}", file=sys.stderr)
        return True
    theirs = listed[0]
    run(_git(root, "fetch", "--quiet", "--no-tags", remote, ref, network=True))
    if not run(_git(root, "diff", "--name-only", theirs, "HEAD")).strip():
        print(f"{remote}/{branch} already has this rebase; not pushing", file=sys.stderr)
        return False
    if MARKER not in run(_git(root, "log", "-1", "--format=%B", theirs)):
        raise CIError(
            f"{remote}/{branch} has commits this script did not make; not overwriting it "
            "(merge or close its pull request, or delete the branch)"
        )
    lease = f"--force-with-lease={ref}:{theirs}"
    run(_git(root, "push", "--quiet", lease, remote, f"HEAD:{ref}", network=True))
    print(f"updated {branch}", file=sys.stderr)
    return True


def upsert_pull_request(
    root: Path, base: str, branch: str, title: str, body: str, draft: bool
) -> str:
    fields = "number,url,title,body"
    found = gh_json(
        ["pr", "list", "--state", "open", "--head", branch, "--json", fields, "--limit", "5"],
        cwd=root,
    )
    with body_file(body) as path:
        if found:
            pr = found[0]
            if is_up_to_date(pr, title, body):
                print(f"pull request #{pr['number']} is up to date", file=sys.stderr)
                return str(pr["url"])
            number = str(pr["number"])
            run(["gh", "pr", "edit", number, "--title", title, "--body-file", path], cwd=root)
            print(f"updated pull request #{pr['number']}", file=sys.stderr)
            return str(pr["url"])
        create = ["pr", "create", "--base", base, "--head", branch, "--title", title]
        create += ["--body-file", path, *(["--draft"] if draft else [])]
        url = created_url(run(["gh", *create], cwd=root))
    print("opened pull request", file=sys.stderr)
    return url


if __name__ == "__main__":
    sys.exit(run_main(main))
