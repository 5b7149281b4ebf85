"""bench: how long the toolkit's steps take, and what the patches cost per proxied request.

`nox -s bench` runs this script with an interpreter that has the toolkit. Every toolkit
measurement runs in scratch directories (a copy of the project, its own FORKKIT_CACHE,
FORKKIT_CHECKOUT and nox envdir), so the user's checkout, cache, dist/ and .nox are left alone;
the uv package cache is shared (warm). The proxy measurement runs tests/bench/proxy_latency.py
with the patched venv's interpreter. Figures come from structured output only: wall time measured
here, the behaviour suite's time from pytest's JUnit XML, rebase outcomes from the report.json
the rebase verb writes. Prints one table and writes it, with the raw numbers, as JSON. Targets
are reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from forkkit.project import CACHE_ENV, CHECKOUT_ENV, Project, default_cache_dir  # noqa: E402
from forkkit.report import STATUS_WORDS, report_paths  # noqa: E402
from tests.bench.bench_table import Row, machine, render  # noqa: E402

NOX_TIMEOUT_S = 900.0
STEP_TIMEOUT_S = 300.0
PROXY_TIMEOUT_S = 600.0
NOOP_RUNS = 5
PROJECT_PARTS = ("noxfile.py", "pyproject.toml", "forkkit", "tests", "upstream", "patches")
KIT_PARTS = ("upstream", "patches")
LATENCY_SCRIPT = Path("tests") / "bench" / "proxy_latency.py"
BOOT_SCRIPT = Path("tests") / "bench" / "boot_bench.py"
RECOGNISER_SCRIPT = Path("tests") / "bench" / "recogniser_bench.py"


@dataclass
class Ran:
    code: int | None  # None: killed at the timeout
    seconds: float
    log: Path

    def failure(self) -> str:
        if self.code == 0:
            return ""
        why = "timed out" if self.code is None else f"exit {self.code}"
        return f"FAILED ({why}; log {self.log})"


@dataclass
class Context:
    root: Path
    scratch: Path
    logs: Path

    def run(self, name: str, cmd: list[str], env: dict[str, str] | None, timeout: float) -> Ran:
        """Run cmd in its own process group; on timeout or interrupt the whole group goes."""
        log = self.logs / f"{name}.log"
        started = time.perf_counter()
        with log.open("w") as out:
            process = subprocess.Popen(
                cmd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                code: int | None = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                stop_group(process)
                code = None
            except BaseException:
                stop_group(process)
                raise
        seconds = time.perf_counter() - started
        return Ran(code, seconds, log)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """TERM the process group, give it time to stop its children, then KILL what is left."""
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue


def scratch_env(cache: Path, checkout: Path) -> dict[str, str]:
    """The caller's environment without its venv, pointed at a scratch cache and checkout."""
    env = dict(os.environ)
    venv = env.pop("VIRTUAL_ENV", None)
    if venv:
        paths = env.get("PATH", "").split(os.pathsep)
        env["PATH"] = os.pathsep.join(p for p in paths if not p.startswith(venv))
    env[CACHE_ENV], env[CHECKOUT_ENV] = str(cache), str(checkout)
    return env


def copy_parts(root: Path, dest: Path, parts: tuple[str, ...]) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.pyc")
    for part in parts:
        source = root / part
        if source.is_dir():
            shutil.copytree(source, dest / part, ignore=ignore)
        elif source.is_file():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / part)
    return dest


def junit_seconds(xml: Path) -> float | None:
    """The suite's own time from pytest's JUnit XML; None when the suite did not run."""
    if not xml.is_file():
        return None
    root = ET.parse(xml).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    return sum(float(s.get("time", "0")) for s in suites) if suites else None


def junit_cases(xml: Path) -> str:
    """'N cases: P passed, S skipped, F failed' from pytest's JUnit XML."""
    if not xml.is_file():
        return "the suite did not run"
    root = ET.parse(xml).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = {k: sum(int(s.get(k, "0")) for s in suites) for k in ("tests", "skipped", "failures")}
    errors = sum(int(s.get("errors", "0")) for s in suites)
    failed = total["failures"] + errors
    passed = total["tests"] - total["skipped"] - failed
    return f"{total['tests']} cases: {passed} passed, {total['skipped']} skipped, {failed} failed"


def rebase_note(kit: Path, target: str) -> str:
    """What the rebase did, from the report.json it wrote."""
    machine_report = report_paths(kit)[1]
    if not machine_report.is_file():
        return "no report written"
    data = json.loads(machine_report.read_text())
    outcomes = [o["status"] for s in data["steps"] for o in s["outcomes"]]
    if data["result"] == "conflict":
        conflicts = [o for o in outcomes if o == "conflict"]
        return f"time to the conflict stop: {len(conflicts)} conflict(s) onto {target}"
    counts = {STATUS_WORDS[o]: outcomes.count(o) for o in sorted(set(outcomes))}
    return f"{data['result']}: " + ", ".join(f"{n} {word}" for word, n in counts.items())


def nox_rows(ctx: Context) -> list[Row]:
    """Cold `nox -s apply-and-test` (empty cache, no checkout, fresh venv), then a warm rerun."""
    project = copy_parts(ctx.root, ctx.scratch / "project", PROJECT_PARTS)
    env = scratch_env(ctx.scratch / "cache-cold", ctx.scratch / "checkout-cold")
    noxfile, envdir = str(project / "noxfile.py"), str(ctx.scratch / "nox")
    cmd = [sys.executable, "-m", "nox", "-f", noxfile, "--envdir", envdir, "-s", "apply-and-test"]
    rows = []
    forced = {**env, "FORKKIT_RETEST": "1"}
    for name, what, limit, setup, run_env in (
        (
            "nox-cold",
            "cold `nox -s apply-and-test`",
            45.0,
            "empty cache, no checkout, new venv",
            env,
        ),
        (
            "nox-warm",
            "warm rerun of `nox -s apply-and-test`",
            3.0,
            "same cache, checkout, venv; the suite's recorded pass for identical inputs stands",
            env,
        ),
        (
            "nox-retest",
            "warm rerun, suite forced (FORKKIT_RETEST=1)",
            None,
            "same cache, checkout, venv; the behaviour suite runs again",
            forced,
        ),
    ):
        junit = ctx.logs / f"{name}.junit.xml"
        junit.unlink(missing_ok=True)
        run_env = {**run_env, "PYTEST_ADDOPTS": f"--junitxml={junit}"}
        ran = ctx.run(name, cmd, run_env, NOX_TIMEOUT_S)
        suite = junit_seconds(junit)
        split = (
            f"behaviour suite {suite:.1f} s, the rest {ran.seconds - suite:.1f} s" if suite else ""
        )
        note = "; ".join(n for n in (ran.failure(), setup, split) if n)
        rows.append(Row(what, ran.seconds, "s", limit, note))
        if name == "nox-retest":
            cases = junit_cases(junit)
            rows.append(Row("forced behaviour suite (pytest's own time)", suite, "s", 25.0, cases))
    rows[0].note += "; downloads sdist + wheel from the index; uv package cache warm"
    return rows


def seed_sdist(ctx: Context, cache: Path) -> str:
    """Put the pinned sdist (only) into a scratch cache: copied if some cache has it."""
    from forkkit.fetch import artifact_path, fetch_sdist
    from forkkit.pin import load_pin

    pin = load_pin(Project(ctx.root).pin_file)
    sources = {
        "the cold run's cache": ctx.scratch / "cache-cold",
        "your cache": default_cache_dir(),
    }
    for label, source in sources.items():
        found = artifact_path(source, pin.sha256, pin.artifact)
        if found.is_file():
            target = artifact_path(cache, pin.sha256, pin.artifact)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(found, target)
            return f"copied from {label}"
    fetch_sdist(pin, cache)
    return "downloaded"


def toolkit_rows(ctx: Context) -> list[Row]:
    from forkkit.pin import load_pin

    if load_pin(Project(ctx.root).pin_file).source != "index":
        return [Row("apply / rebase timings", None, "s", None, "only for index pins (sdist)")]
    cache = ctx.scratch / "cache"
    seeded = seed_sdist(ctx, cache)
    kit = copy_parts(ctx.root, ctx.scratch / "kit", KIT_PARTS)
    forkkit = [sys.executable, "-m", "forkkit", "--root", str(kit)]
    env = scratch_env(cache, ctx.scratch / "checkout-kit")
    first = ctx.run("apply-from-sdist", [*forkkit, "apply"], env, STEP_TIMEOUT_S)
    rows = [
        Row(
            "`apply`: new checkout from a cached sdist",
            first.seconds,
            "s",
            10.0,
            first.failure() or f"read into git, clone, `git am` the series; sdist {seeded}",
        )
    ]
    noop = [
        ctx.run(f"apply-noop-{n}", [*forkkit, "apply"], env, STEP_TIMEOUT_S)
        for n in range(NOOP_RUNS)
    ]
    times = [r.seconds for r in noop]
    spread = f"median of {len(times)} (min {min(times):.2f}, max {max(times):.2f})"
    failed = next((r.failure() for r in noop if r.code != 0), "")
    note = failed or f"{spread}; includes interpreter start"
    rows.append(
        Row("`apply` on a current checkout (no-op)", statistics.median(times), "s", 1.0, note)
    )
    return rows + rebase_rows(ctx, cache)


def rebase_rows(ctx: Context, cache: Path) -> list[Row]:
    """Checkout from the cached pristine repo, then rebase onto the next release, pre-downloaded."""
    from forkkit.fetch import fetch_sdist
    from forkkit.pin import load_pin
    from forkkit.rebase import pin_for
    from forkkit.versions import newer_versions

    kit = copy_parts(ctx.root, ctx.scratch / "rebase", KIT_PARTS)
    forkkit = [sys.executable, "-m", "forkkit", "--root", str(kit)]
    env = scratch_env(cache, ctx.scratch / "checkout-rebase")
    pristine = ctx.run("apply-from-pristine", [*forkkit, "apply"], env, STEP_TIMEOUT_S)
    rows = [
        Row(
            "`apply`: new checkout from the cached pristine repo",
            pristine.seconds,
            "s",
            None,
            pristine.failure() or "clone and `git am` the series; the sdist is not read",
        )
    ]
    pin = load_pin(Project(kit).pin_file)
    newer = newer_versions(pin)
    how = "onto the next release"
    if not newer:  # nothing newer: rebase the series of the pin before onto this pin instead
        earlier = previous_pin_commit(ctx.root, pin.version)
        if earlier is None:
            return [*rows, Row("`rebase`", None, "s", 30.0, "none is newer, no earlier pin")]
        kit = kit_at(ctx.root, earlier, ctx.scratch / "rebase-from-earlier")
        forkkit = [sys.executable, "-m", "forkkit", "--root", str(kit)]
        env = scratch_env(cache, ctx.scratch / "checkout-rebase-earlier")
        target, pin = pin.version, load_pin(Project(kit).pin_file)
        fetch_sdist(pin, cache)
        setup = ctx.run("apply-earlier", [*forkkit, "apply"], env, STEP_TIMEOUT_S)
        if setup.code != 0:
            return [*rows, Row("`rebase`", None, "s", 30.0, setup.failure())]
        how = f"none is newer than the pin, so the series of the pin before it (commit {earlier})"
    else:
        target = str(newer[0])
    fetch_sdist(pin_for(pin, target), cache)
    ran = ctx.run("rebase", [*forkkit, "rebase", target], env, STEP_TIMEOUT_S)
    note = rebase_note(kit, target)
    if ran.code not in (0, 1) or note == "no report written":
        note = ran.failure()
    note += f"; {how}; sdist pre-downloaded, index lookups included"
    return [*rows, Row(f"`rebase` {pin.version} → {target}", ran.seconds, "s", 30.0, note)]


def previous_pin_commit(root: Path, version: str) -> str | None:
    """The newest commit of this repository whose upstream/pin.toml pins another version."""
    from forkkit.pin import load_pin

    log = subprocess.run(
        ["git", "-C", str(root), "log", "--format=%h", "--", "upstream/pin.toml"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    for commit in log:
        text = git_show(root, commit, "upstream/pin.toml")
        if text is None:
            continue
        with tempfile.TemporaryDirectory() as scratch:
            pin_file = Path(scratch) / "pin.toml"
            pin_file.write_bytes(text)
            if load_pin(pin_file).version != version:
                return commit
    return None


def git_show(root: Path, commit: str, path: str) -> bytes | None:
    """A file as committed, as bytes (a patch may hold CRLF lines)."""
    done = subprocess.run(
        ["git", "-C", str(root), "show", f"{commit}:{path}"], capture_output=True, check=False
    )
    return done.stdout if done.returncode == 0 else None


def kit_at(root: Path, commit: str, dest: Path) -> Path:
    """upstream/ and patches/ as they were at commit (the toolkit is today's)."""
    names = subprocess.run(
        ["git", "-C", str(root), "ls-tree", "-r", "--name-only", commit, "upstream", "patches"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        data = git_show(root, commit, name)
        if data is not None:
            target.write_bytes(data)
    return dest


def proxy_rows(ctx: Context, args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    if not (args.patched_python and args.unpatched_python):
        return [Row("proxy latency", None, "ratio", 1.02, "skipped: needs both interpreters")], {}
    out = ctx.scratch / "proxy-latency.json"
    script = ctx.root / LATENCY_SCRIPT
    cmd = [args.patched_python, str(script), "--unpatched-python", args.unpatched_python]
    cmd += ["--requests", str(args.requests), "--json", str(out)]
    ran = ctx.run("proxy-latency", cmd, None, PROXY_TIMEOUT_S)
    if ran.code != 0 or not out.is_file():
        return [Row("proxy latency", None, "ratio", 1.02, ran.failure())], {}
    data: dict[str, Any] = json.loads(out.read_text())
    rows = []
    for mode, case in data["cases"].items():
        for stat in ("median", "p95"):
            patched, unpatched = case["patched"][f"{stat}_ms"], case["unpatched"][f"{stat}_ms"]
            note = f"{patched:.1f} ms vs {unpatched:.1f} ms, n={case['patched']['n']} each"
            if data.get("truncated_by_budget"):
                note += " (stopped at the time budget)"
            ratio = case[f"ratio_{stat}"]
            rows.append(
                Row(f"/anthropic {mode}, {stat}: patched/unpatched", ratio, "ratio", 1.02, note)
            )
    return rows, data


def boot_rows(ctx: Context, args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    """Proxy boot with and without bytecode, spawned and forked (tests/bench/boot_bench.py)."""
    if not args.patched_python:
        return [Row("proxy boot", None, "s", None, "skipped: needs the patched interpreter")], {}
    out = ctx.scratch / "boot.json"
    cmd = [args.patched_python, str(ctx.root / BOOT_SCRIPT), "--json", str(out)]
    ran = ctx.run("proxy-boot", cmd, None, PROXY_TIMEOUT_S)
    if ran.code != 0 or not out.is_file():
        return [Row("proxy boot", None, "s", None, ran.failure())], {}
    data: dict[str, Any] = json.loads(out.read_text())
    many = data["forked_many"]
    return [
        Row(
            "proxy boot, spawned, no bytecode (before)",
            data["spawned_no_bytecode_s"],
            "s",
            None,
            "a fresh python that finds no .pyc: every LiteLLM module compiled again",
        ),
        Row(
            "proxy boot, spawned, with bytecode",
            data["spawned_bytecode_s"],
            "s",
            None,
            "a fresh python per proxy; LiteLLM installed with --compile-bytecode",
        ),
        Row(
            "proxy boot, forked (the suites' launcher)",
            data["forked_one_s"],
            "s",
            None,
            f"after the fork server's one import of LiteLLM ({data['fork_server_import_s']:.1f} s)",
        ),
        Row(
            f"{many} proxies forked at once",
            data["forked_many_s"],
            "s",
            None,
            "what a test session's configurations cost after the one import",
        ),
    ], data


def recogniser_rows(ctx: Context, args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    """The LiteLLM-key recogniser's cost per Claude Code request (recogniser_bench.py)."""
    what = "recogniser per Claude Code request (µs)"
    if not args.patched_python:
        return [Row(what, None, "µs", 50.0, "skipped: needs the patched interpreter")], {}
    out = ctx.scratch / "recogniser.json"
    cmd = [args.patched_python, str(ctx.root / RECOGNISER_SCRIPT), "--json", str(out)]
    ran = ctx.run("recogniser", cmd, None, PROXY_TIMEOUT_S)
    if ran.code != 0 or not out.is_file():
        return [Row(what, None, "µs", 50.0, ran.failure())], {}
    data: dict[str, Any] = json.loads(out.read_text())
    per_value = data["caller_secrets_per_value"]["median_us"]
    note = (
        f"drop_secret_headers(headers, caller_secrets(request)) over {data['header_values']} "
        f"header values, median of runs (min {data['per_request']['min_us']:.0f} µs); with "
        f"caller_secrets computed per value: {per_value:.0f} µs"
    )
    return [Row(what, data["per_request"]["median_us"], "µs", 50.0, note)], data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="toolkit_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    parser.add_argument("--out", type=Path, help="JSON output (default .work/bench/bench.json)")
    parser.add_argument("--patched-python", help="interpreter of a venv with the patched wheel")
    parser.add_argument("--unpatched-python", help="interpreter of a venv with upstream litellm")
    parser.add_argument("--requests", type=int, default=500, help="per variant and request mode")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["nox", "toolkit", "proxy", "boot", "recogniser"],
    )
    parser.add_argument("--keep-scratch", action="store_true")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    out = (args.out or Project(root).bench_dir / "bench.json").resolve()
    logs = out.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    Project(root).work_dir.mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=out.parent))
    ctx = Context(root, scratch, logs)
    info, rows = machine(), []
    latency: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    try:
        if "nox" not in args.skip:
            rows += nox_rows(ctx)
        if "toolkit" not in args.skip:
            rows += toolkit_rows(ctx)
        if "boot" not in args.skip:
            boot, extra["boot"] = boot_rows(ctx, args)
            rows += boot
        if "recogniser" not in args.skip:
            recogniser, extra["recogniser"] = recogniser_rows(ctx, args)
            rows += recogniser
        if "proxy" not in args.skip:
            proxy, latency = proxy_rows(ctx, args)
            rows += proxy
    finally:
        if not args.keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    notes = [
        "uv's package cache is shared and warm in every run (cold, it redownloads hundreds of MB).",
        "Toolkit timings are wall time of the subprocess, interpreter start included.",
        "Latency: sequential requests, batches alternating between the proxies; see `latency`.",
    ]
    table = render(rows, info, notes)
    print(table)
    document = {"schema": "forkkit.bench", "schema_version": 1, "machine": info}
    document |= {"rows": [asdict(r) for r in rows], "notes": notes}
    out.write_text(json.dumps({**document, **extra, "latency": latency}, indent=2) + "\n")
    print(f"wrote {out} (logs in {logs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
