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
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cilib import (
    DEFAULT_REPORT_DIR,
    EXIT_INPUT,
    CIError,
    Report,
    body_text,
    gh_json,
    load_report,
    print_body,
    run,
    run_main,
    set_outputs,
)

TITLE_PREFIX = "Upstream rebase conflict:"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--report-dir", type=Path, default=DEFAULT_REPORT_DIR, help="where report.{md,json} are"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the issue, call nothing")
    return parser.parse_args(argv)


def title_for(report: Report) -> str:
    return f"{TITLE_PREFIX} {report.project} {report.from_version} → {report.conflict_version}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = load_report(args.report_dir)
    if report.result != "conflict":
        raise CIError(
            f"the report says {report.result!r}, not 'conflict'; "
            "a successful rebase goes to ci/open_rebase_pr.py",
            EXIT_INPUT,
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
    if issue and issue["title"] == title and (issue.get("body") or "").strip() == body.strip():
        print(f"issue #{issue['number']} is up to date", file=sys.stderr)
        return str(issue["url"])
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "body.md"
        body_file.write_text(body, encoding="utf-8")
        if issue is None:
            out = run(["gh", "issue", "create", "--title", title, "--body-file", str(body_file)])
            print("opened an issue", file=sys.stderr)
            lines = out.strip().splitlines()
            return lines[-1] if lines else ""
        number = str(issue["number"])
        run(["gh", "issue", "edit", number, "--title", title, "--body-file", str(body_file)])
    if issue["title"] != title:
        note = f"The rebase now stops elsewhere: **{title}** (was: {issue['title']})."
        run(["gh", "issue", "comment", number, "--body", note])
    print(f"updated issue #{number}", file=sys.stderr)
    return str(issue["url"])


if __name__ == "__main__":
    sys.exit(run_main(main))
