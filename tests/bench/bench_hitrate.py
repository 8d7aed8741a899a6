"""Row 6: hit rate over a simulated day, through the real cache and the real pre-refresh.

1,000,000 requests, Zipf s=1.1 over 100,000 keys, spread over 24 simulated hours (a Poisson
arrival process) with the default settings (1 h window, 1 h metadata TTL, 15 min lead, 1 h hot
horizon, 60 s L1). Two `create_app` apps play two gunicorn workers (requests go to one at
random); a third plays the Huey consumer and runs the pre-refresh and the cleanup trim every
simulated minute. All three share one real Redis and one ManualClock; storage is the local
adapter over real files, counting HEADs per side.

The reference is the ceiling of any cache filled on demand: every key's first request must
go to storage, so at best 1 - distinct keys / requests of them can hit.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter

from api.app import create_app
from api.clock import ManualClock
from api.services import build_services, job_settings

from .context import DB_HITRATE, Context
from .product import SIGNING_SECRET, cleanup_for, pre_refresh_for, settings_for, write_files
from .results import Result

ROW = "6"
NAME = "Hit rate, simulated day"
T0 = 1_800_000_000.0
DAY = 86_400
ZIPF_S = 1.1


def _storage(ctx: Context):
    from tests.support import CountingStorage

    return CountingStorage(ctx.images, secret=SIGNING_SECRET)


def _job_app(settings, storage, clock):
    """An app on the services a job worker builds (the jobs' storage retry policy)."""
    return create_app(services=build_services(job_settings(settings), storage=storage, clock=clock))


def replay(ctx: Context, requests: int, key_count: int, *, cache_ttl: int | None = None, warm: bool = False) -> dict:
    """One simulated day; returns the counts. `cache_ttl` and `warm` are the what-if knobs."""
    rng = random.Random(1100)
    keys = [f"bench/zipf/{i % 256:02x}/img-{i:06d}.jpg" for i in range(key_count)]
    write_files(ctx.images, keys, b"")
    by_rank = keys[:]
    rng.shuffle(by_rank)  # popularity is not alphabetical
    weights = list(itertools.accumulate(1.0 / (rank**ZIPF_S) for rank in range(1, key_count + 1)))
    picks = rng.choices(range(key_count), cum_weights=weights, k=requests)

    client = ctx.client(DB_HITRATE)
    client.flushdb()
    clock = ManualClock(T0)
    overrides = {"cache_ttl_seconds": cache_ttl} if cache_ttl else {}
    settings = settings_for(ctx.data_dir, ctx.redis.url(DB_HITRATE), **overrides)  # defaults otherwise
    serving_storage, job_storage = _storage(ctx), _storage(ctx)
    workers = [create_app(settings, storage=serving_storage, clock=clock) for _ in range(2)]
    caches = [app.extensions["url_cache"] for app in workers]
    job = _job_app(settings, job_storage, clock)
    if warm:  # what the `warm` job (or the gallery listing) does: seed metadata from a listing
        seeder = job.extensions["url_cache"]
        for start in range(0, key_count, 500):
            seeder.seed(job_storage.head(k) for k in keys[start : start + 500])
        job_storage.calls.clear()
    counts: Counter[str] = Counter()
    for cache in caches:
        cache.stats.listeners.append(lambda name, n: counts.__setitem__(name, counts[name] + n))
    sweep, how = pre_refresh_for(job)
    cleanup = cleanup_for(job)

    began = time.monotonic()
    next_minute = T0 + 60
    now = T0
    first_hour: tuple[Counter, int] | None = None
    sweeps = refreshed = 0
    gap = DAY / requests
    expovariate, choose = rng.expovariate, rng.random
    for served, rank in enumerate(picks):
        now += expovariate(1.0) * gap
        while now >= next_minute:
            clock.now = next_minute
            report = sweep()
            refreshed += report.get("refreshed", 0)
            cleanup()
            sweeps += 1
            next_minute += 60
            if first_hour is None and next_minute - T0 > 3600:
                first_hour = (Counter(counts), served)
        clock.now = now
        caches[0 if choose() < 0.5 else 1].resolve(by_rank[rank])
    for cache in caches + [job.extensions["url_cache"]]:
        cache.flush()
        cache.close()
    l1, l2 = counts["l1_hits"], counts["l2_hits"]
    after = None
    if first_hour:
        base, at = first_hour
        later = requests - at
        after = ((l1 - base["l1_hits"]) + (l2 - base["l2_hits"])) / later if later else None
    return {
        "requests": requests,
        "keys": key_count,
        "l1": l1,
        "l2": l2,
        "misses": counts["l2_misses"],
        "hit_rate": (l1 + l2) / requests,
        "distinct": len(set(picks)),
        "request_heads": serving_storage.calls["head"],
        "job_heads": job_storage.calls["head"],
        "refreshed": refreshed,
        "sweeps": sweeps,
        "after": after,
        "elapsed": time.monotonic() - began,
        "hours": (now - T0) / 3600,
        "how": how,
    }


def _calls_per_1000(r: dict) -> float:
    return 1000 * (r["request_heads"] + r["job_heads"]) / r["requests"]


def run(ctx: Context) -> Result:
    r = replay(ctx, ctx.pick(1_000_000, 20_000), ctx.pick(100_000, 2_000))
    requests = r["requests"]
    ceiling = 1 - r["distinct"] / requests
    result = Result(
        ROW,
        NAME + f" ({requests:,} requests, Zipf {ZIPF_S} over {r['keys']:,} keys, 24 h)",
        ours=f"{r['hit_rate']:.2%} (L1 {r['l1'] / requests:.2%}, L2 {r['l2'] / requests:.2%}); "
        f"{_calls_per_1000(r):.1f} storage calls per 1,000 requests",
        reference=f"on-demand ceiling {ceiling:.2%} ({r['distinct']:,} distinct keys)",
        ratio=f"{r['hit_rate'] / ceiling:.4f} of ceiling",
        goal=">= 99.5% overall",
        met=r["hit_rate"] >= 0.995,
    )
    result.details += [
        f"misses {r['misses']:,}: {r['distinct']:,} first requests of a key (unavoidable without seeding) and "
        f"{r['misses'] - r['distinct']:,} re-misses of keys whose metadata had lapsed (requested less than once per "
        "CACHE_TTL_SECONDS, so not hot when pre-refresh looked)",
        f"storage HEADs: {r['request_heads']:,} on the request path ({1000 * r['request_heads'] / requests:.1f} per "
        f"1,000), {r['job_heads']:,} by pre-refresh ({1000 * r['job_heads'] / requests:.1f} per 1,000; "
        f"{r['refreshed']:,} refreshed in {r['sweeps']:,} sweeps: every hot key is revalidated once per CACHE_TTL_SECONDS)",
        (f"after the first simulated hour: {r['after']:.2%}; " if r["after"] is not None else "")
        + f"simulated {r['hours']:.1f} h in {r['elapsed']:.0f} s; pre-refresh = {r['how']}",
    ]
    if ctx.quick:
        result.details.append("quick mode: 20,000 requests over 2,000 keys, same 24 h; what-ifs skipped")
        return result
    # What-ifs, smaller (100,000 requests over 10,000 keys, same day and seed), side by side.
    variants = [
        ("today's settings", {}),
        ("CACHE_TTL_SECONDS=3600 (the first default)", {"cache_ttl": 3600}),
        ("today's settings + keys seeded by a listing (warm job) first", {"warm": True}),
    ]
    lines = []
    for label, knobs in variants:
        v = replay(ctx, 100_000, 10_000, **knobs)
        lines.append(
            f"{label}: {v['hit_rate']:.2%}, {_calls_per_1000(v):.1f} storage calls per 1,000 "
            f"(request path {1000 * v['request_heads'] / v['requests']:.1f}, pre-refresh "
            f"{1000 * v['job_heads'] / v['requests']:.1f})"
        )
    result.details.append("what-if, 100,000 requests over 10,000 keys, same 24 h: " + "; ".join(lines))
    return result
