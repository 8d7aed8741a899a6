"""Row 9: soak. Mixed load for 5 minutes: zero errors, worker RSS flat after warm-up.

A fresh API node (2 gunicorn workers) on its own Redis db. The mix: 80% `GET /i/<key>` on cached
keys (expect 302), 15% `POST /api/v1/urls` with 20 cached keys (expect 200), 5% `GET /i/<key>` on
a key never asked before (a real miss: a storage HEAD; the key does not exist, expect 404 and a
short negative entry). An error is a socket error, a timeout, or any other status. RSS of each
worker is sampled every 2 s; growth is measured from the end of warm-up (the first fifth, at
least 60 s in the full run, long enough for L1 entries to start expiring) to the end.
"""

from __future__ import annotations

import json
import random
import threading
import time
from urllib.parse import quote

from .client import http_get
from .context import DB_SOAK, Context
from .load import PyLoad, get_request, lua_string, post_request, run_wrk
from .node import Node, rss_bytes
from .results import Result

ROW = "9"
NAME = "Soak"
CONNECTIONS = 16
BATCH_KEYS = 20


def _script(redirects: list[str], bodies: list[str]) -> str:
    paths = ",\n".join(lua_string(p) for p in redirects)
    posts = ",\n".join(lua_string(b) for b in bodies)
    return f"""
local paths = {{ {paths} }}
local bodies = {{ {posts} }}
local threads = {{}}
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
init = function(args)
  statuses = {{}}
  sent = {{redirect = 0, batch = 0, miss = 0}}
  n = 0
  math.randomseed(tid * 7919)
end
request = function()
  n = n + 1
  local r = math.random()
  if r < 0.80 then
    sent.redirect = sent.redirect + 1
    return wrk.format("GET", paths[math.random(#paths)])
  elseif r < 0.95 then
    sent.batch = sent.batch + 1
    return wrk.format("POST", "/api/v1/urls", {{["Content-Type"] = "application/json"}}, bodies[math.random(#bodies)])
  else
    sent.miss = sent.miss + 1
    return wrk.format("GET", "/i/soak/miss/" .. tid .. "-" .. n .. ".jpg")
  end
end
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  local total = {{}}
  local kinds = {{redirect = 0, batch = 0, miss = 0}}
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do
      total[code] = (total[code] or 0) + count
    end
    for kind, count in pairs(thread:get("sent")) do
      kinds[kind] = kinds[kind] + count
    end
  end
  for code, count in pairs(total) do
    io.write(string.format("STATUS %d %d\\n", code, count))
  end
  for kind, count in pairs(kinds) do
    io.write(string.format("COUNT %s %d\\n", kind, count))
  end
end
"""


def _after(points: list[tuple[float, int]], warmup: float) -> list[int]:
    return [rss for t, rss in points if t >= warmup]


def run(ctx: Context) -> Result:
    keys = ctx.demo_keys
    ctx.client(DB_SOAK).flushdb()
    node = Node(ctx.data_dir, ctx.redis.url(DB_SOAK), workers=2).start()
    try:
        return _run(ctx, node, keys)
    finally:
        node.stop()
        ctx.client(DB_SOAK).flushdb()


def _run(ctx: Context, node: Node, keys: list[str]) -> Result:
    duration = ctx.soak_seconds or ctx.pick(300, 10)
    warmup = min(ctx.pick(60, 3), max(1, duration // 5)) if ctx.soak_seconds else ctx.pick(60, 3)
    redirects = ["/i/" + quote(k, safe="/") for k in keys]
    rng = random.Random(9)
    bodies = [json.dumps({"keys": rng.sample(keys, BATCH_KEYS)}) for _ in range(50)]
    for path in redirects * 2:
        http_get(node.base + path)
    http_get(node.base + "/api/v1/urls", data=bodies[0].encode(), headers={"Content-Type": "application/json"})
    workers = node.worker_pids()
    samples: dict[int, list[tuple[float, int]]] = {pid: [] for pid in workers}
    stop = threading.Event()
    began = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            for pid in workers:
                rss = rss_bytes(pid)
                if rss:
                    samples[pid].append((time.monotonic() - began, rss))
            stop.wait(2.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        wrk = ctx.options.tools.get("wrk")
        if wrk:
            load = run_wrk(wrk, node.base, _script(redirects, bodies), duration, CONNECTIONS, ctx.work)
            statuses, sent = load.statuses, load.extra
        else:
            state = {"n": 0}
            prng = random.Random(10)

            def next_request():
                state["n"] += 1
                r = prng.random()
                if r < 0.80:
                    return get_request(prng.choice(redirects)), "redirect"
                if r < 0.95:
                    return post_request("/api/v1/urls", prng.choice(bodies).encode()), "batch"
                return get_request(f"/i/soak/miss/py-{state['n']}.jpg"), "miss"

            load, kinds = PyLoad(node.port, next_request).run(duration, CONNECTIONS)
            statuses = load.statuses
            sent = {}
            for (kind, _), n in kinds.items():
                sent[kind] = sent.get(kind, 0) + n
    finally:
        stop.set()
        sampler.join()
    alive = [pid for pid in workers if rss_bytes(pid) is not None]

    expected = {302, 200, 404}
    unexpected = sum(n for code, n in statuses.items() if code not in expected)
    # Every 404 must come from a miss key, every 302 from a cached key: more than sent is wrong.
    surplus = max(0, statuses.get(404, 0) - sent.get("miss", 0)) + max(
        0, statuses.get(302, 0) - sent.get("redirect", 0)
    )
    errors = load.errors + unexpected + surplus
    growth = {}
    for pid, points in samples.items():
        base = _after(points, warmup)
        if len(base) >= 2:
            growth[pid] = (base[-1] - base[0]) / base[0]
    worst = max(growth.values()) if growth else float("nan")
    restarted = len(alive) < len(workers)
    result = Result(
        ROW,
        NAME + f" ({duration / 60:g} min mixed load)" if duration >= 60 else NAME + f" ({duration} s mixed load)",
        ours=f"{errors} errors in {load.requests:,} requests ({load.rps:,.0f} req/s); worst worker RSS growth {worst:+.1%}",
        reference="RSS from end of warm-up to end: "
        + ", ".join(
            f"{_after(samples[pid], warmup)[0] / 2**20:.1f} -> {_after(samples[pid], warmup)[-1] / 2**20:.1f} MB"
            for pid in workers
            if _after(samples[pid], warmup)
        ),
        ratio=", ".join(f"{g:+.1%}" for g in growth.values()),
        goal="0 errors, RSS growth <= 5% per worker",
        met=errors == 0 and bool(growth) and worst <= 0.05 and not restarted,
    )

    def trajectory(points):
        marks, out = [duration * f for f in (0.2, 0.4, 0.6, 0.8, 1.0)], []
        for mark in marks:
            near = min(points, key=lambda p: abs(p[0] - mark))
            out.append(f"{near[1] / 2**20:.1f}")
        return " / ".join(out)

    result.details += [
        f"{load.tool}, {CONNECTIONS} connections; sent: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(sent.items()))
        + "; statuses: "
        + ", ".join(f"{c}: {n:,}" for c, n in sorted(statuses.items())),
        f"p50 {load.p50 * 1e3:.2f} ms, p99 {load.p99 * 1e3:.2f} ms; socket errors/timeouts {load.errors}; "
        f"warm-up {warmup} s excluded from RSS growth; RSS at start of load: "
        + ", ".join(f"{samples[pid][0][1] / 2**20:.1f} MB" for pid in workers if samples[pid]),
        "RSS (MB) at 20/40/60/80/100% of the run: "
        + "; ".join(f"worker {n + 1}: {trajectory(samples[pid])}" for n, pid in enumerate(workers) if samples[pid])
        + ("; a worker died during the run" if restarted else ""),
    ]
    return result
