"""Monitoring: hit rates, refresh outcomes, queue and worker health, alerts, a per-minute series.

Counters come from the URL cache's Redis hashes (api.redis_keys): `iuc:stats` (totals) and
`iuc:series:<epoch minute>` (kept a day), both written in batches by every process (API workers
and job workers alike). Queue depth is a sample, written to the series by the job workers'
heartbeats. The stats cards show totals; alerts look at the last ALERT_WINDOW_MINUTES so they
clear once a problem is over.

A lookup is one key asked of the cache. It is an L1 hit, an L2 hit, or an L2 miss (which goes
to storage), so the overall hit rate is the share of lookups served without a storage call.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis

from .cache.url_cache import UrlCache
from .redis_keys import SERIES_TTL, STATS_KEY, series_key
from .redis_topology import describe
from .settings import Settings
from .vocabulary import AlertCode, AlertLevel

log = logging.getLogger(__name__)

MAX_SERIES_MINUTES = 24 * 60
QUEUE_DEPTH_FIELD = "queue_depth"


def minute(now: float) -> int:
    return int(now // 60) * 60


def rate(hits: int, misses: int) -> float | None:
    total = hits + misses
    return round(hits / total, 4) if total else None


def record_queue_depth(client: redis.Redis, now: float, depth: int) -> None:
    """Sample the queue depth into this minute's bucket (the last sample of a minute wins)."""
    bucket = series_key(minute(now))
    pipe = client.pipeline(transaction=False)
    pipe.hset(bucket, QUEUE_DEPTH_FIELD, int(depth))
    pipe.expire(bucket, SERIES_TTL)
    pipe.execute()


def _ints(raw: dict) -> Counter:
    out: Counter = Counter()
    for name, value in raw.items():
        name = name.decode("utf-8") if isinstance(name, bytes) else name
        try:
            out[name] = int(value)
        except (TypeError, ValueError):
            continue
    return out


def read_totals(client: redis.Redis) -> Counter:
    return _ints(client.hgetall(STATS_KEY))


def read_buckets(client: redis.Redis, now: float, minutes: int) -> list[tuple[int, Counter]]:
    """(minute, counters) for the last `minutes` minutes, oldest first, in one round trip."""
    minutes = max(1, min(minutes, MAX_SERIES_MINUTES))
    last = minute(now)
    starts = [last - 60 * i for i in range(minutes - 1, -1, -1)]
    pipe = client.pipeline(transaction=False)
    for start in starts:
        pipe.hgetall(series_key(start))
    return [(start, _ints(raw)) for start, raw in zip(starts, pipe.execute())]


def cache_section(c: Counter) -> dict:
    overall_hits = c["l1_hits"] + c["l2_hits"]
    return {
        "l1": {"hits": c["l1_hits"], "misses": c["l1_misses"], "hit_rate": rate(c["l1_hits"], c["l1_misses"])},
        "l2": {"hits": c["l2_hits"], "misses": c["l2_misses"], "hit_rate": rate(c["l2_hits"], c["l2_misses"])},
        "overall": {"hits": overall_hits, "misses": c["l2_misses"], "hit_rate": rate(overall_hits, c["l2_misses"])},
        "signs": c["signs"],
        "storage_calls": c["storage_calls"],
        "storage_errors": c["storage_errors"],
    }


def timeseries(client: redis.Redis, now: float, minutes: int) -> list[dict]:
    """Per-minute points for the admin charts; minutes without data read as zero traffic."""
    points = []
    for start, c in read_buckets(client, now, minutes):
        points.append(
            {
                "t": start,
                "hits": c["l1_hits"] + c["l2_hits"],
                "misses": c["l2_misses"],
                "errors": c["storage_errors"],
                "queue_depth": c.get(QUEUE_DEPTH_FIELD),
            }
        )
    return points


@dataclass(frozen=True)
class QueueState:
    pending: int | None  # None: the queue's Redis did not answer
    scheduled: int | None
    workers: list[dict]
    nodes: list[dict] = field(default_factory=list)  # API nodes with a live heartbeat


def _alert(code: AlertCode, level: AlertLevel, message: str, value: float, threshold: float) -> dict:
    return {"code": code, "level": level, "message": message, "value": value, "threshold": threshold}


def alerts(settings: Settings, window: Counter, queue: QueueState, degraded: bool) -> list[dict]:
    """Alerts at the configured thresholds; rates need ALERT_MIN_SAMPLES samples in the window."""
    s = settings
    found = []
    minutes = s.alert_window_minutes
    if queue.pending is None:
        found.append(
            _alert(AlertCode.QUEUE_UNREACHABLE, AlertLevel.CRITICAL, "The job queue's Redis does not answer.", 0, 0)
        )
    else:
        if queue.pending > s.alert_queue_depth:
            found.append(
                _alert(
                    AlertCode.QUEUE_DEPTH,
                    AlertLevel.WARNING,
                    f"{queue.pending} jobs are waiting (threshold {s.alert_queue_depth}).",
                    queue.pending,
                    s.alert_queue_depth,
                )
            )
        if queue.pending and not queue.workers:
            found.append(
                _alert(AlertCode.NO_WORKERS, AlertLevel.CRITICAL, "Jobs are waiting and no worker is alive.", 0, 1)
            )
    finished = window["tasks_succeeded"] + window["tasks_failed"]
    if finished >= s.alert_min_samples:
        failure = window["tasks_failed"] / finished
        if failure > s.alert_task_failure_rate:
            found.append(
                _alert(
                    AlertCode.TASK_FAILURE_RATE,
                    AlertLevel.WARNING,
                    f"{failure:.1%} of jobs failed in the last {minutes} min (threshold {s.alert_task_failure_rate:.0%}).",
                    round(failure, 4),
                    s.alert_task_failure_rate,
                )
            )
    hits = window["l1_hits"] + window["l2_hits"]
    lookups = hits + window["l2_misses"]
    if lookups >= s.alert_min_samples:
        hit_rate = hits / lookups
        if hit_rate < s.alert_hit_rate:
            found.append(
                _alert(
                    AlertCode.HIT_RATE,
                    AlertLevel.WARNING,
                    f"Cache hit rate {hit_rate:.1%} in the last {minutes} min (threshold {s.alert_hit_rate:.0%}).",
                    round(hit_rate, 4),
                    s.alert_hit_rate,
                )
            )
    if degraded:
        found.append(
            _alert(
                AlertCode.DEGRADED, AlertLevel.CRITICAL, "Redis is unreachable: serving from memory and storage.", 1, 0
            )
        )
    return found


def _sum(buckets: Iterable[tuple[int, Counter]]) -> Counter:
    total: Counter = Counter()
    for _, c in buckets:
        total.update({k: v for k, v in c.items() if k != QUEUE_DEPTH_FIELD})
    return total


def collect_stats(cache: UrlCache, settings: Settings, queue: QueueState) -> dict:
    """The admin dashboard's numbers. Works, reporting `degraded`, while Redis is away."""
    cache.flush()  # this process's buffered counts; others flush every ACCESS_FLUSH_SECONDS
    now = cache.clock()
    totals: Counter = Counter()
    window: Counter = Counter()
    if cache.redis is not None and not cache.degraded:
        try:
            totals = read_totals(cache.redis)
            window = _sum(read_buckets(cache.redis, now, settings.alert_window_minutes))
        except redis.RedisError as error:
            log.warning("monitoring: redis unavailable: %s", error)
            cache.ping()
    degraded = cache.degraded or cache.redis is None
    finished = totals["tasks_succeeded"] + totals["tasks_failed"]
    return {
        "cache": cache_section(totals),
        "refresh": {"succeeded": totals["refresh_succeeded"], "failed": totals["refresh_failed"]},
        "queue": {"pending": queue.pending, "scheduled": queue.scheduled},
        "workers": queue.workers,
        "nodes": queue.nodes,
        "redis": describe(settings, cache.redis),
        "tasks": {
            "succeeded": totals["tasks_succeeded"],
            "failed": totals["tasks_failed"],
            "failure_rate": round(totals["tasks_failed"] / finished, 4) if finished else None,
        },
        "alerts": alerts(settings, window, queue, degraded),
        "degraded": degraded,
        "generated_at": now,
    }
