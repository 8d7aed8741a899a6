"""Row 1: the redirect hot path against the framework floor and nginx's ceiling.

`/i/<key>` on cached keys vs `/bench/noop/<key>` (a fixed 302 from a plain Flask route in the
same app, same gunicorn settings: the floor) vs nginx returning a fixed 302 (the ceiling).
Rounds alternate between targets so machine noise hits all of them alike; medians are reported.
"""

from __future__ import annotations

import os
from dataclasses import fields
from urllib.parse import quote

from .client import http_get
from .context import DB_NODE, Context
from .load import PyLoad, get_request, run_wrk, wrk_paths_script
from .nginx import Nginx
from .node import Node
from .redis_server import commandstats
from .results import Result
from .stats import fmt_ms, fmt_ratio, median

ROW = "1"
NAME = "Redirect hot path"
CONNECTIONS = 16


def _measure(ctx: Context, base: str, port: int, paths: list[str], seconds: float):
    wrk = ctx.options.tools.get("wrk")
    if wrk:
        return run_wrk(wrk, base, wrk_paths_script(paths), seconds, CONNECTIONS, ctx.work)
    state = {"i": 0}

    def next_request():
        state["i"] += 1
        return get_request(paths[state["i"] % len(paths)]), "get"

    return PyLoad(port, next_request).run(seconds, CONNECTIONS)[0]


def _redis_commands_per_request(ctx: Context, base: str, paths: list[str]) -> dict[str, float]:
    """Server-side Redis commands (all clients of db 0: cache and limiter) per cached redirect."""
    admin = ctx.client(DB_NODE)
    before = commandstats(admin)
    for path in paths[:20]:
        http_get(base + path)
    after = commandstats(admin)
    delta = {name: (after[name] - before.get(name, 0)) / 20 for name in after}
    delta["info"] = delta.get("info", 0) - 1 / 20
    return {name: n for name, n in delta.items() if n > 0.01}


def run(ctx: Context) -> list[Result]:
    node = ctx.node()
    keys = ctx.demo_keys[:100]
    ours = ["/i/" + quote(k, safe="/") for k in keys]
    floor = ["/bench/noop/" + quote(k, safe="/") for k in keys]
    for path in ours * 3:  # cached in L2 and in both workers' L1
        status = http_get(node.base + path)[0]
        if status != 302:
            raise RuntimeError(f"warm-up of {path} answered {status}")
    # Many short alternating rounds: on a shared machine, noise comes in bursts of seconds, so each
    # round's pair (ours, floor) runs back to back and the figure is the median of per-round ratios.
    seconds, rounds = ctx.pick(1.5, 1), ctx.pick(16, 2)

    targets = {
        "ours": lambda: _measure(ctx, node.base, node.port, ours, seconds),
        "floor": lambda: _measure(ctx, node.base, node.port, floor, seconds),
    }
    unlimited = None
    from api.settings import Settings

    if "rate_limit_enabled" in {f.name for f in fields(Settings)}:
        # The same product with its per-request rate limiter off: how much of the gap is the limiter.
        unlimited = Node(ctx.data_dir, ctx.redis.url(DB_NODE), workers=2, RATE_LIMIT_ENABLED="false").start()
        for path in ours * 3:
            http_get(unlimited.base + path)
        targets["ours_nolimit"] = lambda: _measure(ctx, unlimited.base, unlimited.port, ours, seconds)
        targets["floor_nolimit"] = lambda: _measure(ctx, unlimited.base, unlimited.port, floor, seconds)
    nginx = None
    nginx_binary = ctx.options.tools.get("nginx")
    if nginx_binary:
        nginx = Nginx(
            nginx_binary, ctx.work, "/objects/demo/landscapes/image-000.jpg?exp=1800003600&sig=" + "A" * 43
        ).start()
        targets["nginx"] = lambda: _measure(ctx, nginx.base, nginx.port, floor, seconds)
    runs: dict[str, list] = {name: [] for name in targets}
    _measure(ctx, node.base, node.port, ours, 1)  # warm the connections and code paths
    per_request = _redis_commands_per_request(ctx, node.base, ours)
    load_before = os.getloadavg()[0]
    try:
        for index in range(rounds):
            order = list(targets) if index % 2 == 0 else list(targets)[::-1]
            for name in order:
                runs[name].append(targets[name]())
    finally:
        if nginx:
            nginx.stop()
        if unlimited:
            unlimited.stop()

    def rps(name):
        return median(r.rps for r in runs[name])

    def p50(name):
        return median(r.p50 for r in runs[name])

    def p99(name):
        return median(r.p99 for r in runs[name])

    errors = {name: sum(r.errors for r in runs[name]) for name in runs}
    tool = runs["ours"][0].tool

    def paired(a: str, b: str, field: str) -> tuple[float, float, float]:
        """Median and range of the per-round ratio a/b (rounds pair runs made seconds apart)."""
        ratios = [getattr(x, field) / getattr(y, field) for x, y in zip(runs[a], runs[b])]
        return median(ratios), min(ratios), max(ratios)

    throughput_ratio, t_low, t_high = paired("ours", "floor", "rps")
    latency_ratio, l_low, l_high = paired("ours", "floor", "p99")
    load_after = os.getloadavg()[0]
    result = Result(
        ROW,
        NAME + " (`/i/<key>` vs no-op Flask 302)",
        ours=f"{rps('ours'):,.0f} req/s, p50 {fmt_ms(p50('ours'))}, p99 {fmt_ms(p99('ours'))}",
        reference=f"floor: {rps('floor'):,.0f} req/s, p50 {fmt_ms(p50('floor'))}, p99 {fmt_ms(p99('floor'))}",
        ratio=f"{throughput_ratio:.2f}x throughput, {latency_ratio:.2f}x p99",
        goal=">= 0.9x throughput, p99 <= 1.2x",
        met=throughput_ratio >= 0.9 and latency_ratio <= 1.2 and errors["ours"] == 0,
    )
    result.details += [
        f"ratios are medians of per-round ratios: throughput {throughput_ratio:.2f}x (rounds {t_low:.2f}-{t_high:.2f}), "
        f"p99 {latency_ratio:.2f}x (rounds {l_low:.2f}-{l_high:.2f}); the req/s and latency columns are medians per "
        f"target; load average before/after the row: {load_before:.1f}/{load_after:.1f} on {os.cpu_count()} CPUs",
        f"load: {tool}, 1 thread, {CONNECTIONS} keep-alive connections, {rounds} alternating rounds of "
        f"{seconds} s per target, cycling over {len(keys)} cached keys; gunicorn 2 workers x 4 threads (gthread), "
        "access log on (to /dev/null) as in production; the generator shares the 2 cores with the server",
        "per round (req/s): " + "; ".join(f"{n} " + ", ".join(f"{r.rps:,.0f}" for r in runs[n]) for n in runs),
        "errors (socket errors or non-2xx/3xx): " + ", ".join(f"{n} {e}" for n, e in errors.items()),
    ]
    if tool == "python":
        result.details.append(
            "wrk missing: the Python generator is probably the bottleneck, which squeezes ratios toward 1"
        )
    results = [result]
    result.details.append(
        "Redis commands per cached `/i/` request (INFO commandstats over 20 requests): "
        + (", ".join(f"{name} {n:g}" for name, n in sorted(per_request.items())) or "none")
    )
    if "ours_nolimit" in runs:
        free, _, _ = paired("ours_nolimit", "floor_nolimit", "rps")
        free_p99, _, _ = paired("ours_nolimit", "floor_nolimit", "p99")
        results.append(
            Result(
                ROW + "b",
                "Redirect hot path with RATE_LIMIT_ENABLED=false (what the limiter costs)",
                ours=f"{rps('ours_nolimit'):,.0f} req/s, p50 {fmt_ms(p50('ours_nolimit'))}, p99 {fmt_ms(p99('ours_nolimit'))}",
                reference=f"floor on that node: {rps('floor_nolimit'):,.0f} req/s, p99 {fmt_ms(p99('floor_nolimit'))}",
                ratio=f"{free:.2f}x throughput, {free_p99:.2f}x p99",
                goal="(diagnosis)",
                details=[
                    "a second node, same settings but RATE_LIMIT_ENABLED=false, its own no-op floor, measured in "
                    "the same alternating rounds; the limiter also slows the floor route a little (its before_request "
                    f"hook runs on every route): floors {rps('floor'):,.0f} vs {rps('floor_nolimit'):,.0f} req/s. "
                    "The row-1 node keeps the limiter on (production default) with its limit lifted "
                    "(RATE_LIMIT_PUBLIC and RATE_LIMIT_DELIVERY = 100000000 per second) so one load-generating address is not refused"
                ],
            )
        )
    if "nginx" in runs:
        ceiling, _, _ = paired("ours", "nginx", "rps")
        results.append(
            Result(
                ROW + "c",
                "Redirect hot path vs nginx fixed 302 (ceiling)",
                ours=f"{rps('ours'):,.0f} req/s, p99 {fmt_ms(p99('ours'))}",
                reference=f"nginx: {rps('nginx'):,.0f} req/s, p99 {fmt_ms(p99('nginx'))}",
                ratio=f"{ceiling:.2f}x throughput ({fmt_ratio(1 / ceiling)} slower)",
                goal="(context)",
                details=[
                    "nginx: 2 workers, access log off, same wrk settings; with one core taken by wrk it is "
                    "bounded by the generator as much as by itself"
                ],
            )
        )
    else:
        results.append(
            Result(
                ROW + "c",
                "Redirect hot path vs nginx fixed 302 (ceiling)",
                skipped="nginx is not installed (make bench installs it with apt)",
            )
        )
    return results
