"""L2: the shared tier in Redis, with the expiry index the pre-refresh job reads.

Entries are Flask-Caching RedisCache values (compact JSON, read in one MGET for any number of
keys). Every write keeps the index (sorted set: key -> time its metadata lapses) in step in the
same pipeline, so a sweep costs O(due keys). Calls go through the breaker: a Redis failure reads
as a miss and a skipped write, never as an error.

A missing object (404) is remembered apart, as a negative entry: its name is a fixed-size digest
of the key and its value the integer time it was seen missing, so it costs the same few bytes
however long the (made-up) key, lives NEGATIVE_TTL_SECONDS, and is in neither the expiry index
nor the access set. On a Redis Cluster the index and access set are split in hash-tagged parts
(api.cache.parts) and batches go out as one pipeline per shard. Writing one deletes the key's positive entry, so the next read says 404.
Negative entries are read only for keys with no positive entry (a second MGET, paid only when a
storage call would follow anyway), so the hit path stays one round trip.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Iterable
from typing import Any, TypeVar, cast

import redis
from redis.cluster import RedisCluster
from redis.exceptions import AskError, MovedError, SlotNotCoveredError

from ..redis_keys import FLIGHT_PREFIX, L2_PREFIX, NEGATIVE_PREFIX
from ..redis_replies import members, text
from ..redis_topology import is_cluster
from ..settings import Settings
from .breaker import RedisBreaker
from .entry import CacheEntry
from .l2 import JsonRedisCache
from .parts import access_name, index_name, part_count, split

T = TypeVar("T")

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
        raw = self.breaker.call(lambda client: self._get_many(client, [L2_PREFIX + k for k in keys], True), None)
        if raw is None:
            return {}
        out: dict[str, CacheEntry] = {}
        for key, value in zip(keys, raw):
            if isinstance(value, dict):
                try:
                    out[key] = CacheEntry.from_json(key, value)
                except (KeyError, TypeError, ValueError):
                    log.warning("ignoring malformed cache entry for %r", key)
        absent = [key for key in keys if key not in out]
        if absent:
            out.update(self._read_negative(absent))
        return out

    def _read_negative(self, keys: list[str]) -> dict[str, CacheEntry]:
        seen = self.breaker.call(lambda client: self._get_many(client, [negative_name(k) for k in keys]), None)
        out: dict[str, CacheEntry] = {}
        for key, value in zip(keys, seen or ()):
            if value is not None:
                try:
                    out[key] = CacheEntry(None, float(value))
                except ValueError:
                    log.warning("ignoring malformed negative entry for %r", key)
        return out

    def _get_many(self, client: redis.Redis, names: list[str], decode: bool = False) -> list[Any]:
        """One MGET; on a cluster, a pipeline of GETs, which redis-py sends as one batch per
        shard (a plain MGET fails across slots; `mget_nonatomic` costs one MGET per slot)."""
        if is_cluster(client):
            raw: list[Any] = cluster_get_many(client, names)
        else:
            raw = list(client.mget(names))
        if not decode or self._values is None:
            return raw
        loads = self._values.serializer.loads
        return [loads(value) if isinstance(value, bytes) else None for value in raw]

    def write(self, entries: dict[str, CacheEntry], release: Iterable[str] = ()) -> None:
        """Store entries and keep the expiry index in step, in one pipeline; drop the storage
        claims of `release` in it too (their answer is now here, or failed), so the next miss
        of them, on any node, does not wait for a claim that has nothing to give."""
        values = self._values
        release = list(release)
        if values is None or not (entries or release):
            return
        s = self.settings
        # Redis TTL only collects garbage; freshness is decided with the injectable clock.
        keep = s.cache_ttl_seconds * 2 + s.url_window_seconds

        def write(client: redis.Redis) -> None:
            pipe = client.pipeline(transaction=False)
            index: dict[str, float] = {}
            missing: list[str] = []
            for key, entry in entries.items():
                if entry.missing:
                    missing.append(key)
                    pipe.set(negative_name(key), int(entry.validated_at), ex=s.negative_ttl_seconds)
                else:
                    pipe.set(L2_PREFIX + key, values.serializer.dumps(entry.to_json()), ex=int(keep))
                    index[key] = entry.validated_at + s.cache_ttl_seconds
            parts = part_count(client)
            for name in (L2_PREFIX + k for k in missing):
                pipe.delete(name)  # one key per command: a cluster splits keys over slots
            for part, keys in split(missing, parts).items():
                pipe.zrem(index_name(part, parts), *keys)
            for part, keys in split(index, parts).items():
                pipe.zadd(index_name(part, parts), {k: index[k] for k in keys})
            for key in release:
                pipe.delete(flight_name(key))
            pipe.execute()

        self.breaker.call(write, None)

    def invalidate(self, prefix: str | None = None, key: str | None = None) -> int:
        """Drop one key, every key under a prefix, or everything; returns how many entries.

        A prefix cannot select negative entries (their names are digests), so a prefix flush
        drops every negative entry: they are short-lived and cost one storage call to learn
        again. Raises RedisError when Redis does not answer: a flush must not claim success."""
        client = self.breaker.client
        if client is None:
            return 0  # no shared tier: only this process's memory held anything
        try:
            if key is not None:
                names = [L2_PREFIX + key, negative_name(key)]
                indexed = [key]
            else:
                pattern = _glob_escape(L2_PREFIX + (prefix or "")) + "*"
                names = [text(name) for name in client.scan_iter(match=pattern, count=1000)]
                indexed = [name[len(L2_PREFIX) :] for name in names]
                names += [text(name) for name in client.scan_iter(match=NEGATIVE_PREFIX + "*", count=1000)]
            if not names:
                return 0
            deleted = _delete(client, names)
            parts = part_count(client)
            pipe = client.pipeline(transaction=False)
            for part, keys in split(indexed, parts).items():
                for chunk in _chunks(keys, DELETE_CHUNK):
                    pipe.zrem(index_name(part, parts), *chunk)
            pipe.execute()
        except redis.RedisError:
            self.breaker.trip()
            raise
        return deleted

    def due_keys(self, now: float, lead: float, hot_horizon: float) -> tuple[list[str], list[str]]:
        """(hot, cold) keys whose metadata lapses within `lead`; costs O(due keys). Raises
        RedisError: the job that asks must know the sweep did not happen."""
        client = self._client()
        parts = part_count(client)
        pipe = client.pipeline(transaction=False)
        for part in range(parts):
            pipe.zrangebyscore(index_name(part, parts), "-inf", now + lead)
        due_by_part = [members(reply) for reply in pipe.execute()]
        if not any(due_by_part):
            return [], []
        pipe = client.pipeline(transaction=False)
        for part, due in enumerate(due_by_part):
            if due:
                pipe.zmscore(access_name(part, parts), due)
        seen = [t for reply in pipe.execute() for t in reply]
        due = [k for part_due in due_by_part for k in part_due]
        hot = [k for k, t in zip(due, seen) if t is not None and t >= now - hot_horizon]
        cold = [k for k, t in zip(due, seen) if t is None or t < now - hot_horizon]
        return hot, cold

    def trim(self, now: float, hot_horizon: float) -> tuple[int, int]:
        """Forget lapsed index entries and stale access times; returns (index, access) removed."""
        client = self._client()
        parts = part_count(client)
        pipe = client.pipeline(transaction=False)
        for part in range(parts):
            pipe.zremrangebyscore(index_name(part, parts), "-inf", f"({now}")
            pipe.zremrangebyscore(access_name(part, parts), "-inf", f"({now - hot_horizon}")
        replies = pipe.execute()
        return sum(replies[0::2]), sum(replies[1::2])

    def claim(self, keys: list[str], seconds: float) -> set[str]:
        """The keys this node should ask storage for now: a short lock each (SET NX PX, one
        pipeline), so concurrent misses on several nodes make one storage call per key. All of
        them when Redis is down (single-flight is then per process)."""
        millis = max(1, int(seconds * 1000))

        def claim(client: redis.Redis) -> set[str]:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.set(flight_name(key), 1, nx=True, px=millis)
            return {key for key, won in zip(keys, pipe.execute()) if won}

        return self.breaker.call(claim, set(keys))

    def await_newer(self, key: str, seen: CacheEntry | None, seconds: float) -> CacheEntry | None:
        """Poll L2 up to `seconds` for an entry of `key` validated after `seen` (the node that
        holds the claim writes it); None when none comes in time."""
        deadline = time.monotonic() + seconds
        delay = 0.005
        while time.monotonic() < deadline and not self.breaker.open:
            entry = self.read([key]).get(key)
            if entry is not None and (seen is None or entry.validated_at > seen.validated_at):
                return entry
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.05)
        return None

    def _client(self) -> redis.Redis:
        if self.breaker.client is None:
            raise redis.ConnectionError("the cache has no Redis (REDIS_URL is not set)")
        return self.breaker.client


def negative_name(key: str) -> str:
    """The Redis name of a key's negative entry: 22 characters whatever the key's length."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest()
    return NEGATIVE_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def cluster_get_many(client: redis.Redis, names: list[str]) -> list[Any]:
    """GET each name with one plain pipeline per shard. redis-py's ClusterPipeline would do the
    same in as many round trips but costs ~3x the CPU per command (measured on 500 keys); a
    moved slot (resharding, failover) falls back to it, as it follows redirections."""
    cluster = cast(RedisCluster, client)
    by_node: dict[str, tuple[Any, list[int]]] = {}
    try:
        for i, name in enumerate(names):
            node = cluster.get_node_from_key(name)  # type: ignore[no-untyped-call]
            if node is None or node.redis_connection is None:
                raise SlotNotCoveredError(name)
            by_node.setdefault(node.name, (node, []))[1].append(i)
        out: list[Any] = [None] * len(names)
        for node, positions in by_node.values():
            pipe = node.redis_connection.pipeline(transaction=False)
            for i in positions:
                pipe.get(names[i])
            for i, value in zip(positions, pipe.execute()):
                out[i] = value
        return out
    except (MovedError, AskError, SlotNotCoveredError):
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.get(name)
        return list(pipe.execute())


def flight_name(key: str) -> str:
    return FLIGHT_PREFIX + hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


def _delete(client: redis.Redis, names: list[str]) -> int:
    """Delete `names` in chunks; on a cluster, redis-py splits each DEL by slot."""
    if is_cluster(client):
        return sum(int(client.delete(*chunk)) for chunk in _chunks(names, DELETE_CHUNK))
    pipe = client.pipeline(transaction=False)
    for chunk in _chunks(names, DELETE_CHUNK):
        pipe.delete(*chunk)
    return sum(int(count) for count in pipe.execute())


def _chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
