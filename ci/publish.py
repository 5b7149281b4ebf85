"""What ci/open_rebase_pr.py and ci/report_conflict.py share: the report each one requires, and
publishing one GitHub item (pull request or issue) whose body is that report.

Standard library only, like cilib.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cilib import DEFAULT_REPORT_DIR, EXIT_INPUT, CIError, Report, load_report


def parser_for(doc: str, dry_run_help: str) -> argparse.ArgumentParser:
    """The arguments both scripts take: where the report is, and --dry-run."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--report-dir", type=Path, default=DEFAULT_REPORT_DIR, help="where report.{md,json} are"
    )
    parser.add_argument("--dry-run", action="store_true", help=dry_run_help)
    return parser


def require_report(report_dir: Path, result: str, other_path: str) -> Report:
    """The report, refused (exit 2) when it ended otherwise than this script handles."""
    report = load_report(report_dir)
    if report.result != result:
        raise CIError(
            f"the report says {report.result!r}, not {result!r}; {other_path}",
            EXIT_INPUT,
        )
    return report


def is_up_to_date(item: dict[str, Any], title: str, body: str) -> bool:
    """An open item already showing this title and body: editing it would only add noise."""
    return item.get("title") == title and (item.get("body") or "").strip() == body.strip()


@contextmanager
def body_file(body: str) -> Iterator[str]:
    """The body in a file for `gh … --body-file` (bodies are too long for a command line)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "body.md"
        path.write_text(body, encoding="utf-8")
        yield str(path)


def created_url(gh_output: str) -> str:
    """`gh pr|issue create` prints the new item's URL last."""
    lines = gh_output.strip().splitlines()
    return lines[-1] if lines else ""
