#!/usr/bin/env python3
"""Open, or update, the one issue that says the upstream rebase stopped at a conflict.

Reads report.json and report.md from --report-dir (default .work/rebase). The report must say
`conflict`. The issue is titled "Upstream rebase conflict: <project> <from> → <release it stopped
at>" and its body is the Markdown report (which names the patch, files, hunks and next steps).
There is at most one such open issue: an open issue whose title starts with
"Upstream rebase conflict: <project> " is updated in place (with a comment when the release it
stopped at changed), and left alone when nothing changed, so a daily schedule does not add noise.

--dry-run prints the title and body it would use and calls nothing.
Needs an authenticated `gh` (GH_TOKEN in CI). Exit codes: see ci/cilib.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from cilib import (
    Report,
    body_text,
    gh_json,
    print_body,
    run,
    run_main,
    set_outputs,
)
from publish import body_file, created_url, is_up_to_date, parser_for, require_report

TITLE_PREFIX = "Upstream rebase conflict:"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return parser_for(__doc__, "print the issue, call nothing").parse_args(argv)


def title_for(report: Report) -> str:
    return f"{TITLE_PREFIX} {report.project} {report.from_version} → {report.conflict_version}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = require_report(
        args.report_dir, "conflict", "a successful rebase goes to ci/open_rebase_pr.py"
    )
    title, body = title_for(report), body_text(report.markdown)
    if args.dry_run:
        print("would open an issue, or update the open one whose title starts the same")
        print(f"title: {title}")
        print(f"conflicts: {', '.join(report.conflicting_patches) or 'none named'}")
        print_body(body)
        return 0
    url = upsert_issue(f"{TITLE_PREFIX} {report.project} ", title, body)
    set_outputs({"issue_url": url})
    return 0


def find_open_issue(prefix: str) -> dict[str, Any] | None:
    found = gh_json(
        [
            "issue",
            "list",
            "--state",
            "open",
            "--search",
            f'in:title "{TITLE_PREFIX}"',
            "--json",
            "number,title,body,url",
            "--limit",
            "100",
        ]
    )
    mine = [i for i in found or [] if str(i.get("title", "")).startswith(prefix)]
    return min(mine, key=lambda i: int(i["number"])) if mine else None


def upsert_issue(prefix: str, title: str, body: str) -> str:
    issue = find_open_issue(prefix)
    if issue and is_up_to_date(issue, title, body):
        print(f"issue #{issue['number']} is up to date", file=sys.stderr)
        return str(issue["url"])
    with body_file(body) as path:
        if issue is None:
            out = run(["gh", "issue", "create", "--title", title, "--body-file", path])
            print("opened an issue", file=sys.stderr)
            return created_url(out)
        number = str(issue["number"])
        run(["gh", "issue", "edit", number, "--title", title, "--body-file", path])
    if issue["title"] != title:
        note = f"The rebase now stops elsewhere: **{title}** (was: {issue['title']})."
        run(["gh", "issue", "comment", number, "--body", note])
    print(f"updated issue #{number}", file=sys.stderr)
    return str(issue["url"])


if __name__ == "__main__":
    sys.exit(run_main(main))
