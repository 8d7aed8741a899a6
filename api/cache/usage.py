"""Access times and counters, buffered in process and written to Redis in batches.

Pre-refresh needs to know which keys are hot, and the dashboard needs counts, but a Redis write
per request would cost more than the lookup itself. So lookups only touch memory; a flush every
ACCESS_FLUSH_SECONDS writes the access set (`ZADD GT`) and the counters (totals and the
per-minute series) in one pipeline. A failed flush puts its data back (bounded), so nothing is
lost while Redis is away.
"""

from __future__ import annotations

import logging
import threading

import redis

from ..clock import Clock
from ..redis_keys import SERIES_TTL, STATS_KEY, series_key
from .breaker import RedisBreaker
from .parts import access_name, part_count, split
from .stats import CacheStats

log = logging.getLogger(__name__)
ACCESS_BUFFER_LIMIT = 100_000


class UsageRecorder:
    def __init__(self, breaker: RedisBreaker, stats: CacheStats, flush_seconds: float, clock: Clock) -> None:
        self.breaker = breaker
        self.stats = stats
        self.flush_seconds = flush_seconds
        self.clock = clock
        self._access: dict[str, float] = {}
        self._lock = threading.Lock()
        self._last_flush = clock()
        self._stop = threading.Event()

    def touch(self, keys: list[str], now: float) -> None:
        with self._lock:
            if len(self._access) < ACCESS_BUFFER_LIMIT:
                self._access.update(dict.fromkeys(keys, now))

    def maybe_flush(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        if now - self._last_flush >= self.flush_seconds:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        """Write buffered access times and counters in one pipeline."""
        now = self.clock() if now is None else now
        self._last_flush = now
        with self._lock:
            access, self._access = self._access, {}
        counts = self.stats.drain()
        if not access and not counts:
            return

        def write(client: redis.Redis) -> bool:
            pipe = client.pipeline(transaction=False)
            parts = part_count(client)
            for part, keys in split(access, parts).items():
                pipe.zadd(access_name(part, parts), {k: access[k] for k in keys}, gt=True)
            bucket = series_key(int(now // 60) * 60)
            for name, n in counts.items():
                pipe.hincrby(STATS_KEY, name, n)
                pipe.hincrby(bucket, name, n)
            if counts:
                pipe.expire(bucket, SERIES_TTL)
            pipe.execute()
            return True

        if not self.breaker.call(write, False):
            self.stats.restore(counts)
            with self._lock:
                if len(self._access) < ACCESS_BUFFER_LIMIT:
                    self._access.update(access)

    def start_flusher(self) -> threading.Thread:
        """Flush every ACCESS_FLUSH_SECONDS from a daemon thread, not only on the next lookup:
        after a burst, a serving process's last counts and access times would otherwise wait
        for more traffic (the dashboard looked idle and pre-refresh took viewed keys for cold)."""
        interval = max(self.flush_seconds, 0.05)
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.maybe_flush()
                except Exception:  # keep flushing; the next lookup flushes as before
                    log.exception("periodic cache flush failed")

        thread = threading.Thread(target=run, name="cache-flush", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
