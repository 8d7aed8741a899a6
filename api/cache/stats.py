"""In-process counters, written to Redis in batches instead of once per request."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

COUNTERS = (
    "l1_hits",
    "l1_misses",
    "l2_hits",
    "l2_misses",
    "negative_hits",
    "signs",
    "storage_calls",
    "storage_errors",
    "stale_served",
    "redis_errors",
)


class CacheStats:
    def __init__(self) -> None:
        self._pending: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.listeners: list[Callable[[str, int], None]] = []  # callables(name, n), e.g. Prometheus counters

    def incr(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._pending[name] += n
        for listener in self.listeners:
            listener(name, n)

    def drain(self) -> Counter[str]:
        """Take what accumulated since the last drain."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
        return pending

    def restore(self, counts: Counter[str]) -> None:
        """Put back counts whose write failed, so none are lost while Redis is away."""
        with self._lock:
            self._pending.update(counts)
