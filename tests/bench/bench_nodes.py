"""Row 16: two API nodes on one Redis. How soon a flush on A leaves B's memory, and how many
storage HEADs 10 concurrent misses of one key across both nodes make.

Both nodes are the app as `create_app` builds it (each its own L1, storage adapter and
invalidation listener on Redis pub/sub), in this process so that B's L1 can be read directly:
the latency is from the end of A's flush call (`DELETE /api/v1/cache...` through A's
HTTP routes) until the entry is gone from B's memory, polled every millisecond. Storage is the
local store with a 200 ms HEAD (about a slow object store's), counted per node, so a first
HEAD is still running when the other misses arrive.
"""

from __future__ import annotations

import threading
import time

from ..support import CountingStorage
from .context import Context
from .product import ADMIN_TOKEN, settings_for, write_files
from .results import Result
from .stats import median

ROW = "16"
NAME = "Two API nodes"
DB_NODES = 15  # no other row uses it (tests/bench/context.py)
KEY = "bench/nodes/photo.jpg"
HEAD_SECONDS = 0.2
MISSES = 10
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FLUSHES = {"key": f"/api/v1/cache/{KEY}", "prefix": "/api/v1/cache?prefix=bench/nodes/", "all": "/api/v1/cache"}


def _node(settings):
    from api.app import create_app

    storage = CountingStorage(settings.images_dir, secret=settings.signing_secret)
    app = create_app(settings, storage=storage)
    cache = app.extensions["url_cache"]
    cache.bus.start()
    if not cache.bus.subscribed.wait(5):
        raise RuntimeError("a node never subscribed to invalidations")
    return app, cache, storage


def _gone_after(cache, key: str, since: float, limit: float = 5.0) -> float | None:
    while time.perf_counter() - since < limit:
        if cache.memory.get(key) is None:
            return time.perf_counter() - since
        time.sleep(0.001)
    return None


def run(ctx: Context) -> Result:
    ctx.client(DB_NODES).flushdb()
    settings = settings_for(
        ctx.data_dir,
        ctx.redis.url(DB_NODES),
        access_flush_seconds=3600.0,
        rate_limit_enabled=False,  # one address asks everything
        single_flight_wait_seconds=5.0,
    )
    rounds = ctx.pick(20, 5)
    keys = [KEY] + [f"bench/nodes/miss-{n:03d}.jpg" for n in range(rounds)]
    write_files(ctx.images, keys, b"\xff\xd8\xff" + b"x" * 61)
    (app_a, cache_a, storage_a), (_, cache_b, storage_b) = _node(settings), _node(settings)
    latency: dict[str, list[float | None]] = {kind: [] for kind in FLUSHES}
    heads: list[int] = []
    flush_calls: list[float] = []
    try:
        admin = app_a.test_client()
        for _ in range(rounds):
            for kind, path in FLUSHES.items():
                cache_b.resolve(KEY)
                if cache_b.memory.get(KEY) is None:
                    raise RuntimeError("B did not keep the key in memory")
                started = time.perf_counter()
                response = admin.delete(path, headers=AUTH)
                flush_calls.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"flush {path} answered {response.status_code}: {response.get_data()[:200]!r}")
                latency[kind].append(_gone_after(cache_b, KEY, started))

        storage_a.delay = storage_b.delay = HEAD_SECONDS
        for key in keys[1:]:
            before = storage_a.calls["head"] + storage_b.calls["head"]
            barrier = threading.Barrier(MISSES)
            urls: list[str] = []

            def miss(cache, key=key, barrier=barrier, urls=urls):
                barrier.wait()
                urls.append(cache.resolve(key).url)

            threads = [threading.Thread(target=miss, args=(cache_a if n % 2 else cache_b,)) for n in range(MISSES)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(15)
            if len(urls) != MISSES or len(set(urls)) != 1:
                raise RuntimeError(f"concurrent misses of {key}: {len(urls)} answers, {len(set(urls))} URLs")
            heads.append(storage_a.calls["head"] + storage_b.calls["head"] - before)
    finally:
        cache_a.close()
        cache_b.close()
        ctx.client(DB_NODES).flushdb()
    every = [s for values in latency.values() for s in values]
    lost = sum(1 for s in every if s is None)
    seen = sorted(s for s in every if s is not None)
    worst = seen[-1] if seen else float("nan")
    met = lost == 0 and worst <= 1.0 and all(n == 1 for n in heads)
    per_kind = "; ".join(
        f"{kind}: median {median([s for s in v if s is not None]) * 1000:.1f} ms, max "
        f"{max(s for s in v if s is not None) * 1000:.1f} ms"
        for kind, v in latency.items()
        if any(s is not None for s in v)
    )
    return Result(
        ROW,
        NAME,
        ours=f"flush on A gone from B's L1: median {median(seen) * 1000:.1f} ms, max {worst * 1000:.1f} ms; "
        f"{MISSES} concurrent misses: HEADs per key {sorted(set(heads))}",
        goal="invalidation <= 1 s; 1 HEAD per key",
        met=met,
        details=[
            f"{rounds} flushes of each kind on A (one key, a prefix, everything) while B held the key in L1; "
            f"{per_kind}; {lost} never reached B within 5 s; the flush calls on A took median "
            f"{median(flush_calls) * 1000:.1f} ms (included above)",
            f"{len(heads)} keys, each missed by {MISSES} threads at once (5 on each node, behind a barrier), "
            f"storage HEAD {HEAD_SECONDS * 1000:.0f} ms: HEADs per key {heads}",
            "nodes: two create_app instances in one process (own L1, storage adapter and pub/sub listener), "
            "sharing only Redis",
        ],
    )
