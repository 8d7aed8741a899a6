"""`python -m tests.bench [--quick] [--only 1,4] [--output FILE]`: run the rows, write the table.

Exit status is non-zero only when a benchmark itself breaks (an exception), never because a
figure misses its goal or a row is skipped for a missing tool.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

from . import ROOT
from .report import code_state, write_report
from .results import Result

MODULES = [
    "bench_redirect",
    "bench_resolve",
    "bench_naive",
    "bench_signer",
    "bench_prerefresh",
    "bench_hitrate",
    "bench_memory",
    "bench_browser",
    "bench_soak",
    "bench_faults",
    "bench_fuzz",
    "bench_limits",
    "bench_variants",
    "bench_failover",
    "bench_cluster",
    "bench_nodes",
    "bench_gallery_speed",
]


def find_tools() -> dict[str, str | None]:
    chromium = "/usr/bin/chromium"
    return {
        "wrk": shutil.which("wrk"),
        "nginx": shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None),
        "chromium": chromium if os.access(chromium, os.X_OK) else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="about a minute: shorter runs, smaller data")
    parser.add_argument("--only", default="", help="comma-separated row numbers, e.g. 1,4")
    parser.add_argument(
        "--without",
        default="",
        help="comma-separated tools to act as if missing (wrk, nginx, chromium), to exercise the fallbacks",
    )
    parser.add_argument(
        "--soak-seconds", type=int, default=None, help="length of the soak (row 9); default 300, or 10 with --quick"
    )
    parser.add_argument(
        "--output",
        default=None,
        help="report file (default docs/BENCHMARKS.md; with --only, nothing is written unless given)",
    )
    args = parser.parse_args(argv)

    from .context import new_context

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    # Stop cleanly (nodes, nginx, Redis, scratch files) when told to, even if started in the
    # background, where SIGINT is ignored by default.
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)

    wanted = {part.strip() for part in args.only.split(",") if part.strip()}
    tools = find_tools()
    for name in (part.strip() for part in args.without.split(",") if part.strip()):
        if name not in tools:
            parser.error(f"--without: unknown tool {name!r} (known: {', '.join(tools)})")
        tools[name] = None
    started = time.time()
    code = code_state()  # before the run: other work may land while it runs
    load_start = os.getloadavg()[0]
    ctx = new_context(args.quick, tools)
    ctx.soak_seconds = args.soak_seconds
    results: list[Result] = []
    broke = False
    try:
        for name in MODULES:
            module = importlib.import_module(f"{__package__}.{name}")
            if wanted and module.ROW not in wanted:
                continue
            print(f"[bench] row {module.ROW}: {module.NAME} ...", flush=True)
            began = time.monotonic()
            try:
                produced = module.run(ctx)
            except Exception as error:  # the benchmark broke: report it, keep the others going
                broke = True
                traceback.print_exc()
                produced = Result(module.ROW, module.NAME, error=f"{type(error).__name__}: {error}")
            produced = produced if isinstance(produced, list) else [produced]
            for result in produced:
                print(
                    f"[bench]   {result.row} {result.name}: {result.ours or result.skipped or result.error} | "
                    f"ref {result.reference} | {result.ratio} | goal {result.goal} | {result.verdict}",
                    flush=True,
                )
            print(f"[bench]   ({time.monotonic() - began:.1f} s)", flush=True)
            results += produced
    finally:
        ctx.close()
    output = args.output or (None if wanted else str(ROOT / "docs" / "BENCHMARKS.md"))
    if output:
        write_report(
            Path(output),
            results,
            quick=args.quick,
            tools=tools,
            started=started,
            elapsed=time.time() - started,
            code=code,
            load=(load_start, os.getloadavg()[0]),
            argv=sys.argv[1:] if argv is None else argv,
        )
        print(f"[bench] wrote {output}")
    return 1 if broke else 0


if __name__ == "__main__":
    sys.exit(main())
