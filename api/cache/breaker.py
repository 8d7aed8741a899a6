"""A circuit breaker for Redis: after a failure, skip Redis for REDIS_RETRY_SECONDS.

While open, every tier answers from what it has (L1, direct storage calls) instead of waiting
on a dead socket per request: that is degraded mode (invariant 6).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import redis

from ..clock import Clock
from .stats import CacheStats

log = logging.getLogger(__name__)
T = TypeVar("T")


class RedisBreaker:
    def __init__(self, client: redis.Redis | None, retry_seconds: float, clock: Clock, stats: CacheStats) -> None:
        self.client = client
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.stats = stats
        self._down_until = 0.0

    @property
    def open(self) -> bool:
        """True while Redis failed recently and calls are skipped."""
        return self.clock() < self._down_until

    def call(self, call: Callable[[redis.Redis], T], default: T) -> T:
        """`call(client)` unless Redis is absent or failed recently; on failure, open."""
        if self.client is None or self.open:
            return default
        try:
            return call(self.client)
        except redis.RedisError as error:
            log.warning("redis unavailable, serving degraded: %s", error)
            self.trip()
            return default

    def ping(self) -> bool:
        """Check Redis now, not waiting for the retry time; close the breaker if it answers."""
        if self.client is None:
            return False
        try:
            self.client.ping()
        except redis.RedisError:
            self.trip()
            return False
        self._down_until = 0.0
        return True

    def trip(self) -> None:
        self.stats.incr("redis_errors")
        self._down_until = self.clock() + self.retry_seconds
