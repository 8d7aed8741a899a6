"""L2: the shared tier in Redis, with the expiry index the pre-refresh job reads.

Entries are Flask-Caching RedisCache values (compact JSON, read in one MGET for any number of
keys). Every write keeps the index (sorted set: key -> time its metadata lapses) in step in the
same pipeline, so a sweep costs O(due keys). Calls go through the breaker: a Redis failure reads
as a miss and a skipped write, never as an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis

from ..redis_keys import ACCESS_KEY, INDEX_KEY, L2_PREFIX
from ..redis_replies import members
from ..settings import Settings
from .breaker import RedisBreaker
from .entry import CacheEntry
from .l2 import JsonRedisCache

log = logging.getLogger(__name__)
DELETE_CHUNK = 1000


class SharedTier:
    def __init__(self, breaker: RedisBreaker, settings: Settings) -> None:
        self.breaker = breaker
        self.settings = settings
        client = breaker.client
        self._values = (
            JsonRedisCache(host=client, key_prefix=L2_PREFIX, default_timeout=settings.cache_ttl_seconds)
            if client is not None
            else None
        )

    def read(self, keys: list[str]) -> dict[str, CacheEntry]:
        values = self._values
        if values is None or not keys:
            return {}
        raw = self.breaker.call(lambda _: values.get_many(*keys), None)
        out: dict[str, CacheEntry] = {}
        for key, value in zip(keys, raw or ()):
            if isinstance(value, dict):
                try:
                    out[key] = CacheEntry.from_json(key, value)
                except (KeyError, TypeError, ValueError):
                    log.warning("ignoring malformed cache entry for %r", key)
        return out

    def write(self, entries: dict[str, CacheEntry]) -> None:
        """Store entries and keep the expiry index in step, in one pipeline."""
        values = self._values
        if values is None or not entries:
            return
        s = self.settings
        # Redis TTL only collects garbage; freshness is decided with the injectable clock.
        keep = s.cache_ttl_seconds * 2 + s.url_window_seconds

        def write(client: redis.Redis) -> None:
            pipe = client.pipeline(transaction=False)
            index: dict[str, float] = {}
            for key, entry in entries.items():
                ttl = s.negative_ttl_seconds if entry.missing else keep
                pipe.set(L2_PREFIX + key, values.serializer.dumps(entry.to_json()), ex=int(ttl))
                if entry.missing:
                    pipe.zrem(INDEX_KEY, key)
                else:
                    index[key] = entry.validated_at + s.cache_ttl_seconds
            if index:
                pipe.zadd(INDEX_KEY, index)
            pipe.execute()

        self.breaker.call(write, None)

    def invalidate(self, prefix: str | None = None, key: str | None = None) -> int:
        """Drop one key, every key under a prefix, or everything; returns how many entries."""
        if key is not None:
            names = [key]
        else:
            pattern = _glob_escape(L2_PREFIX + (prefix or "")) + "*"
            found: list[bytes] = self.breaker.call(lambda client: list(client.scan_iter(match=pattern, count=1000)), [])
            names = [raw.decode("utf-8")[len(L2_PREFIX) :] for raw in found]
        if not names:
            return 0

        def delete(client: redis.Redis) -> int:
            pipe = client.pipeline(transaction=False)
            for chunk in _chunks(names, DELETE_CHUNK):
                pipe.delete(*[L2_PREFIX + n for n in chunk])
                pipe.zrem(INDEX_KEY, *chunk)
            return sum(pipe.execute()[0::2])

        return self.breaker.call(delete, 0)

    def due_keys(self, now: float, lead: float, hot_horizon: float) -> tuple[list[str], list[str]]:
        """(hot, cold) keys whose metadata lapses within `lead`; costs O(due keys). Raises
        RedisError: the job that asks must know the sweep did not happen."""
        client = self._client()
        due = members(client.zrangebyscore(INDEX_KEY, "-inf", now + lead))
        if not due:
            return [], []
        seen = client.zmscore(ACCESS_KEY, due)
        hot = [k for k, t in zip(due, seen) if t is not None and t >= now - hot_horizon]
        cold = [k for k, t in zip(due, seen) if t is None or t < now - hot_horizon]
        return hot, cold

    def trim(self, now: float, hot_horizon: float) -> tuple[int, int]:
        """Forget lapsed index entries and stale access times; returns (index, access) removed."""
        pipe = self._client().pipeline(transaction=False)
        pipe.zremrangebyscore(INDEX_KEY, "-inf", f"({now}")
        pipe.zremrangebyscore(ACCESS_KEY, "-inf", f"({now - hot_horizon}")
        removed_index, removed_access = pipe.execute()
        return removed_index, removed_access

    def _client(self) -> redis.Redis:
        if self.breaker.client is None:
            raise redis.ConnectionError("the cache has no Redis (REDIS_URL is not set)")
        return self.breaker.client


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
