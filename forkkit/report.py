"""Rebase reports: Markdown for a pull-request body, JSON for machines."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from forkkit.jsonfile import malformed, read_versioned, write_versioned
from forkkit.project import Project

STATUS_WORDS = {
    "clean": "applied clean",
    "offset": "applied after merge (offset)",
    "3-way": "applied after merge (3-way)",
    "already-upstream": "already upstream (dropped)",
    "dropped": "dropped by hand",
    "conflict": "CONFLICT",
    "not-reached": "not reached",
    "ported": "conflict, ported by hand",
    "continued": "applied by `git am --continue` after the port",
}


@dataclass
class PatchOutcome:
    patch: str
    status: str  # a key of STATUS_WORDS
    detail: str = ""


@dataclass
class StepReport:
    from_version: str
    to_version: str
    outcomes: list[PatchOutcome] = field(default_factory=list)
    conflict: bool = False
    range_diff: str | None = None  # None: not computed yet (the step stopped at a conflict)
    sizes: list[dict[str, object]] = field(default_factory=list)  # patches whose size changed


@dataclass
class RebaseReport:
    project: str
    from_version: str
    target: str
    steps: list[StepReport] = field(default_factory=list)
    result: str = "in progress"  # "rebased", "conflict", "aborted"
    tests: str = "not run"  # "passed", "failed"
    next_steps: list[str] = field(default_factory=list)
    recorded_to: str = ""  # a docs/rebases/ copy kept in the repository, if asked for
    notes: list[str] = field(default_factory=list)  # what the human who ported patches says
    overrides: list[str] = field(default_factory=list)  # upstream/overrides.txt, as tested with

    @property
    def reached(self) -> str:
        done = [s for s in self.steps if not s.conflict]
        return done[-1].to_version if done else self.from_version


SCHEMA, VERSION = "forkkit.rebase-report", 1
REMEDY = "delete .work/rebase/ and rerun the rebase (after `nox -s rebase -- --abort` if stopped)"


def report_paths(root: Path) -> tuple[Path, Path]:
    project = Project(root)
    return project.rebase_report_md, project.rebase_report_json


def write_report(root: Path, report: RebaseReport) -> None:
    markdown, machine = report_paths(root)
    write_versioned(machine, SCHEMA, VERSION, asdict(report))
    markdown.write_text(to_markdown(report))
    if report.recorded_to:
        copy = root / report.recorded_to
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(to_markdown(report))


def load_report(root: Path) -> RebaseReport | None:
    machine = report_paths(root)[1]
    data = read_versioned(machine, SCHEMA, VERSION, REMEDY)
    if data is None:
        return None
    try:
        steps = [
            StepReport(
                s["from_version"],
                s["to_version"],
                [PatchOutcome(**o) for o in s["outcomes"]],
                s["conflict"],
                s.get("range_diff"),
                s.get("sizes", []),
            )
            for s in data.pop("steps")
        ]
        return RebaseReport(**data, steps=steps)
    except (KeyError, TypeError, AttributeError) as exc:
        raise malformed(machine, exc, REMEDY) from None


def to_markdown(report: RebaseReport) -> str:
    title = f"Rebase {report.project} {report.from_version} → {report.target}: {report.result}"
    lines = [f"# {title}", ""]
    lines.append(f"Behaviour suite on the new release: **{report.tests}**.")
    lines += ["", "## Test environment overrides (upstream/overrides.txt)", ""]
    if report.overrides:
        lines.append("The suite's environment installs with these uv overrides (not the wheel's):")
        lines += ["", *[f"- `{requirement}`" for requirement in report.overrides]]
    else:
        lines.append("None: upstream's pins install as they are.")
    for step in report.steps:
        lines += ["", f"## {step.from_version} → {step.to_version}", ""]
        lines += ["| patch | result | detail |", "|---|---|---|"]
        for outcome in step.outcomes:
            detail = outcome.detail.replace("|", "\\|")
            lines.append(f"| `{outcome.patch}` | {STATUS_WORDS[outcome.status]} | {detail} |")
        lines += range_diff_section(step)
    if report.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in report.notes]
    if report.next_steps:
        lines += ["", "## Next steps", ""]
        lines += [f"{n}. {text}" for n, text in enumerate(report.next_steps, 1)]
    return "\n".join(lines) + "\n"


def range_diff_section(step: StepReport) -> list[str]:
    lines = [
        "",
        f"### Range-diff: the {step.from_version} series against the {step.to_version} series",
    ]
    lines += [
        "",
        "`git range-diff` of the old and the new patch commits; identical pairs left out.",
        "",
    ]
    if step.range_diff is None:
        return [
            *lines,
            "Not yet: the step stopped at a conflict; `nox -s rebase -- --continue` fills it in.",
        ]
    if not step.range_diff:
        lines.append("Empty: every patch carried over unchanged (hunk offsets aside).")
    else:
        lines += ["```diff", step.range_diff, "```"]
    for size in step.sizes:
        before, after = int(str(size["before"])), int(str(size["after"]))
        verb = "shrank" if after < before else "grew"
        lines.append(
            f"- `{size['subject']}`: {before} → {after} changed lines "
            f"({verb} by {abs(before - after)})"
        )
    return lines
