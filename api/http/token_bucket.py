"""Per-client token buckets in process memory: the delivery routes' rate limit.

A bucket holds up to `burst` tokens and refills at `rate` per second; a request takes one. So a
browser loading a whole gallery at once (hundreds of `/i/` requests in a second) is served, and
a loop hammering the server is held to `rate` once its burst is spent.

Hand-written because `limits` offers only window strategies (a window either refuses a gallery
or lets a loop through at the window's full count) and its MemoryStorage starts a timer thread
to expire keys, a cost on every request of the hot path. This is a lock, a bounded LRU of
(tokens, stamp) pairs and three float operations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cachetools import LRUCache

MAX_CLIENTS = 100_000  # a forgotten client starts again with a full bucket, as a new one does


class TokenBuckets:
    def __init__(self, burst: int, rate: float, clock: Callable[[], float]) -> None:
        self.burst = float(burst)
        self.rate = rate
        self.clock = clock
        self._buckets: LRUCache[str, tuple[float, float]] = LRUCache(MAX_CLIENTS)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take one token of `client`'s bucket: 0.0 when granted, else seconds until one is there."""
        with self._lock:
            now = self.clock()
            tokens, stamp = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - stamp) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate
