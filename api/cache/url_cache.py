"""Two-tier cache of object metadata that turns keys into stable signed URLs.

L1 is a bounded per-process TTL LRU; L2 is Redis (Flask-Caching, JSON), read in one round trip
for any number of keys. URLs are not what is cached: metadata is, and a URL is signed for the
key's current window on the way out (signing is pure and deterministic, so every process hands
out the same URL). A miss asks storage once per key however many requests wait for it.

Redis also keeps an expiry index (sorted set: key -> lapse time) and an access set (key -> last
access) for the pre-refresh job. Access times and counters are buffered and written in batches.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

import redis
from cachetools import TTLCache

from ..clock import Clock, system_clock
from ..settings import Settings
from ..storage import ObjectInfo, ObjectNotFound, Storage, StorageError, StorageUnavailable
from ..windows import SigningWindow, window_for
from .entry import CacheEntry, ResolvedUrl
from .l2 import JsonRedisCache
from .stats import CacheStats

log = logging.getLogger(__name__)
T = TypeVar("T")

L2_PREFIX = "iuc:url:"
INDEX_KEY = "iuc:index"  # key -> time its metadata lapses
ACCESS_KEY = "iuc:access"  # key -> last access time
STATS_KEY = "iuc:stats"  # counter name -> total
SERIES_PREFIX = "iuc:series:"  # per-minute counters, kept a day
SERIES_TTL = 25 * 3600
ACCESS_BUFFER_LIMIT = 100_000


class _L1Item:
    """An L1 value: the entry plus the URL signed for one window, reused until it rolls over."""

    __slots__ = ("entry", "window", "url")

    def __init__(self, entry: CacheEntry) -> None:
        self.entry = entry
        self.window: SigningWindow | None = None
        self.url = ""


class UrlCache:
    def __init__(
        self,
        storage: Storage,
        l2: JsonRedisCache | None,
        redis_client: redis.Redis | None,
        settings: Settings,
        clock: Clock = system_clock,
        fetch_workers: int = 16,
    ) -> None:
        self.storage = storage
        self.l2 = l2
        self.redis = redis_client
        self.settings = settings
        self.clock = clock
        self.stats = CacheStats()
        self._l1: TTLCache[str, _L1Item] = TTLCache(
            maxsize=settings.l1_max_entries, ttl=settings.l1_ttl_seconds, timer=clock
        )
        self._l1_lock = threading.Lock()  # cachetools caches are not thread-safe
        self._inflight: dict[str, Future] = {}
        self._inflight_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=fetch_workers, thread_name_prefix="head")
        self._redis_down_until = 0.0
        self._access: dict[str, float] = {}
        self._access_lock = threading.Lock()
        self._last_flush = clock()
        self._flusher_stop = threading.Event()

    # -- public API ---------------------------------------------------------------------
    def resolve(self, key: str, refresh: bool = False) -> ResolvedUrl:
        """The signed URL of one key; raises a StorageError (ObjectNotFound...) on failure."""
        if not refresh:  # the redirect hot path: a fresh L1 entry needs nothing else
            now = self.clock()
            item = self._l1_get(key)
            if item is not None and not item.entry.missing and self._fresh(item.entry, now):
                self.stats.incr("l1_hits")
                self._touch([key], now)
                resolved = self._issue(key, item.entry, now, item)
                self.maybe_flush(now)
                return resolved
        found, errors = self.resolve_many([key], refresh=refresh)
        if key in errors:
            raise errors[key]
        return found[key]

    def resolve_many(
        self, keys: Iterable[str], refresh: bool = False
    ) -> tuple[dict[str, ResolvedUrl], dict[str, StorageError]]:
        """Resolve keys with at most one L2 round trip and one storage call per missing key."""
        now = self.clock()
        keys = list(dict.fromkeys(keys))
        entries: dict[str, CacheEntry] = {}
        failures: dict[str, StorageError] = {}
        pending = keys
        if not refresh:
            pending = []
            for key in keys:
                item = self._l1_get(key)
                if item is None or not self._fresh(item.entry, now):
                    pending.append(key)
                else:
                    entries[key] = item.entry
            self.stats.incr("l1_hits", len(keys) - len(pending))
            self.stats.incr("l1_misses", len(pending))
        if pending:
            loaded, failures = self._load(pending, now, refresh)
            entries.update(loaded)
        self._touch(keys, now)
        found, errors = self._issue_all(keys, entries, failures, now)
        self.maybe_flush(now)
        return found, errors

    def seed(self, infos: Iterable[ObjectInfo]) -> None:
        """Store metadata a listing already returned, so the first view needs no HEAD per image."""
        now = self.clock()
        entries = {info.key: CacheEntry(info, now) for info in infos}
        for key, entry in entries.items():
            self._l1_put(key, entry)
        self._l2_write(entries)

    def revalidate_many(self, keys: Iterable[str]) -> dict[str, str]:
        """Ask storage again for each key and store the answer; for refresh jobs.

        Returns key -> outcome: "refreshed", "missing", or the error code of a failure (the old
        entry, if any, keeps serving). Raises nothing for per-key storage errors.
        """
        keys = list(dict.fromkeys(keys))
        old = self._l2_read(keys)
        fetched = self._fetch(keys, old)
        outcomes: dict[str, str] = {}
        fresh: dict[str, CacheEntry] = {}
        for key, result in fetched.items():
            if isinstance(result, CacheEntry) and result is not old.get(key):
                fresh[key] = result
                outcomes[key] = "missing" if result.missing else "refreshed"
            else:
                outcomes[key] = result.code if isinstance(result, StorageError) else "storage_unavailable"
        self._l2_write(fresh)
        for key, entry in fresh.items():
            self._l1_put(key, entry)
        return outcomes

    def invalidate(self, prefix: str | None = None, key: str | None = None) -> int:
        """Drop one key, every key under a prefix, or everything; returns how many L2 entries."""
        with self._l1_lock:
            doomed = [k for k in self._l1 if key is None and k.startswith(prefix or "") or k == key]
            for k in doomed:
                self._l1.pop(k, None)
        if key is not None:
            names = [key]
        else:
            names = [
                raw.decode("utf-8")[len(L2_PREFIX) :]
                for raw in self._redis_call(
                    lambda: list(self.redis.scan_iter(match=_glob_escape(L2_PREFIX + (prefix or "")) + "*", count=1000)),
                    [],
                )
            ]
        if not names:
            return 0

        def delete() -> int:
            pipe = self.redis.pipeline(transaction=False)
            for start in range(0, len(names), 1000):
                chunk = names[start : start + 1000]
                pipe.delete(*[L2_PREFIX + n for n in chunk])
                pipe.zrem(INDEX_KEY, *chunk)
            return sum(pipe.execute()[0::2])

        return self._redis_call(delete, 0)

    def due_keys(self, now: float, lead: float, hot_horizon: float) -> tuple[list[str], list[str]]:
        """(hot, cold) keys whose metadata lapses within `lead`; costs O(due keys)."""
        due = [k.decode("utf-8") for k in self.redis.zrangebyscore(INDEX_KEY, "-inf", now + lead)]
        if not due:
            return [], []
        seen = self.redis.zmscore(ACCESS_KEY, due)
        hot = [k for k, t in zip(due, seen) if t is not None and t >= now - hot_horizon]
        cold = [k for k, t in zip(due, seen) if t is None or t < now - hot_horizon]
        return hot, cold

    def trim(self, now: float, hot_horizon: float) -> tuple[int, int]:
        """Forget lapsed index entries and stale access times; returns (index, access) removed."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zremrangebyscore(INDEX_KEY, "-inf", f"({now}")
        pipe.zremrangebyscore(ACCESS_KEY, "-inf", f"({now - hot_horizon}")
        removed_index, removed_access = pipe.execute()
        return removed_index, removed_access

    @property
    def degraded(self) -> bool:
        """True while Redis is failing and the cache serves from L1 and direct storage calls."""
        return self.clock() < self._redis_down_until

    def ping(self) -> bool:
        """Check Redis now (not waiting for the back-off), and end degraded mode if it is back."""
        if self.redis is None:
            return False
        try:
            self.redis.ping()
        except redis.RedisError:
            self._mark_redis_down()
            return False
        self._redis_down_until = 0.0
        return True

    def maybe_flush(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        if now - self._last_flush >= self.settings.access_flush_seconds:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        """Write buffered access times and counters in one pipeline."""
        now = self.clock() if now is None else now
        self._last_flush = now
        with self._access_lock:
            access, self._access = self._access, {}
        counts = self.stats.drain()
        if not access and not counts:
            return

        def write() -> bool:
            pipe = self.redis.pipeline(transaction=False)
            if access:
                pipe.zadd(ACCESS_KEY, access, gt=True)
            bucket = f"{SERIES_PREFIX}{int(now // 60) * 60}"
            for name, n in counts.items():
                pipe.hincrby(STATS_KEY, name, n)
                pipe.hincrby(bucket, name, n)
            if counts:
                pipe.expire(bucket, SERIES_TTL)
            pipe.execute()
            return True

        if not self._redis_call(write, False):
            self.stats.restore(counts)
            with self._access_lock:
                if len(self._access) < ACCESS_BUFFER_LIMIT:
                    self._access.update(access)

    def start_flusher(self) -> threading.Thread:
        """Flush every ACCESS_FLUSH_SECONDS from a daemon thread, not only on the next lookup:
        after a burst, a serving process's last counts and access times would otherwise wait
        for more traffic (the dashboard looked idle and pre-refresh took viewed keys for cold)."""
        interval = max(self.settings.access_flush_seconds, 0.05)
        self._flusher_stop.clear()

        def run() -> None:
            while not self._flusher_stop.wait(interval):
                try:
                    self.maybe_flush()
                except Exception:  # keep flushing; the next lookup flushes as before
                    log.exception("periodic cache flush failed")

        thread = threading.Thread(target=run, name="cache-flush", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self._flusher_stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- tiers --------------------------------------------------------------------------
    def _l1_get(self, key: str) -> _L1Item | None:
        with self._l1_lock:
            return self._l1.get(key)

    def _l1_put(self, key: str, entry: CacheEntry) -> None:
        with self._l1_lock:
            self._l1[key] = _L1Item(entry)

    def _load(
        self, keys: list[str], now: float, refresh: bool
    ) -> tuple[dict[str, CacheEntry], dict[str, StorageError]]:
        """Entries for L1 misses: L2 first (one round trip), storage for the rest."""
        stored = self._l2_read(keys)
        entries: dict[str, CacheEntry] = {}
        stale: dict[str, CacheEntry] = {}
        for key in keys:
            entry = stored.get(key)
            if entry is not None and not refresh and self._fresh(entry, now):
                entries[key] = entry
            elif entry is not None:
                stale[key] = entry
        self.stats.incr("l2_hits", len(entries))
        self.stats.incr("l2_misses", len(keys) - len(entries))
        fetch = [k for k in keys if k not in entries]
        fetched = self._fetch(fetch, stale)
        written: dict[str, CacheEntry] = {}
        for key, result in fetched.items():
            if isinstance(result, CacheEntry):
                entries[key] = result
                if result is not stale.get(key):
                    written[key] = result
        self._l2_write(written)
        for key, entry in entries.items():
            self._l1_put(key, entry)
        return entries, {k: r for k, r in fetched.items() if isinstance(r, StorageError)}

    def _l2_read(self, keys: list[str]) -> dict[str, CacheEntry]:
        if self.l2 is None or not keys:
            return {}
        values = self._redis_call(lambda: self.l2.get_many(*keys), None)
        if values is None:
            return {}
        out = {}
        for key, value in zip(keys, values):
            if isinstance(value, dict):
                try:
                    out[key] = CacheEntry.from_json(key, value)
                except (KeyError, TypeError, ValueError):
                    log.warning("ignoring malformed cache entry for %r", key)
        return out

    def _l2_write(self, entries: dict[str, CacheEntry]) -> None:
        """Store entries and keep the expiry index in step, in one pipeline."""
        if self.l2 is None or not entries:
            return
        s = self.settings
        # Redis TTL only collects garbage; freshness is decided with the injectable clock.
        keep = s.cache_ttl_seconds * 2 + s.url_window_seconds

        def write() -> None:
            pipe = self.redis.pipeline(transaction=False)
            index: dict[str, float] = {}
            for key, entry in entries.items():
                value = self.l2.serializer.dumps(entry.to_json())
                ttl = s.negative_ttl_seconds if entry.missing else keep
                pipe.set(L2_PREFIX + key, value, ex=int(ttl))
                if entry.missing:
                    pipe.zrem(INDEX_KEY, key)
                else:
                    index[key] = entry.validated_at + s.cache_ttl_seconds
            if index:
                pipe.zadd(INDEX_KEY, index)
            pipe.execute()

        self._redis_call(write, None)

    # -- storage ------------------------------------------------------------------------
    def _fetch(
        self, keys: list[str], stale: dict[str, CacheEntry]
    ) -> dict[str, CacheEntry | StorageError]:
        """HEAD each key once, however many callers ask at the same time (single-flight)."""
        if not keys:
            return {}
        futures: dict[str, Future] = {}
        owned: list[tuple[str, Future]] = []
        with self._inflight_lock:
            for key in keys:
                future = self._inflight.get(key)
                if future is None:
                    future = Future()
                    self._inflight[key] = future
                    owned.append((key, future))
                futures[key] = future
        if len(owned) == 1:
            self._run_fetch(*owned[0], stale.get(owned[0][0]))
        else:
            for key, future in owned:
                self._pool.submit(self._run_fetch, key, future, stale.get(key))
        return {key: future.result() for key, future in futures.items()}

    def _run_fetch(self, key: str, future: Future, stale: CacheEntry | None) -> None:
        try:
            future.set_result(self._head(key, stale))
        finally:
            with self._inflight_lock:
                self._inflight.pop(key, None)

    def _head(self, key: str, stale: CacheEntry | None) -> CacheEntry | StorageError:
        self.stats.incr("storage_calls")
        try:
            return CacheEntry(self.storage.head(key), self.clock())
        except ObjectNotFound:
            return CacheEntry(None, self.clock())
        except StorageError as error:
            self.stats.incr("storage_errors")
            if isinstance(error, StorageUnavailable) and stale is not None and not stale.missing:
                # Refreshing failed but we know the object: keep serving it (invariant 5).
                self.stats.incr("stale_served")
                return stale
            return error
        except Exception as error:  # an adapter bug must not leave waiters hanging
            log.exception("storage head failed for %r", key)
            self.stats.incr("storage_errors")
            return StorageUnavailable(str(error))

    # -- issuing ------------------------------------------------------------------------
    def _issue_all(
        self,
        keys: list[str],
        entries: dict[str, CacheEntry],
        failures: dict[str, StorageError],
        now: float,
    ) -> tuple[dict[str, ResolvedUrl], dict[str, StorageError]]:
        found: dict[str, ResolvedUrl] = {}
        errors = dict(failures)
        with self._l1_lock:  # one locked pass, not one lock per key
            items = {key: self._l1.get(key) for key in keys}
        signs = 0
        for key in keys:
            entry = entries.get(key)
            if entry is None:
                errors.setdefault(key, StorageUnavailable(key))
            elif entry.missing:
                self.stats.incr("negative_hits")
                errors[key] = ObjectNotFound(key)
            else:
                found[key], signed = self._url_for(key, entry, now, items[key])
                signs += signed
        if signs:
            self.stats.incr("signs", signs)  # once per batch: each call locks and feeds Prometheus
        return found, errors

    def _fresh(self, entry: CacheEntry, now: float) -> bool:
        return entry.fresh(now, self.settings.cache_ttl_seconds, self.settings.negative_ttl_seconds)

    def _issue(self, key: str, entry: CacheEntry, now: float, item: _L1Item) -> ResolvedUrl:
        resolved, signed = self._url_for(key, entry, now, item)
        if signed:
            self.stats.incr("signs")
        return resolved

    def _url_for(
        self, key: str, entry: CacheEntry, now: float, item: _L1Item | None
    ) -> tuple[ResolvedUrl, bool]:
        """The URL for `entry` in the current window, signed once per window and kept on the L1
        item; also says whether it had to be signed now."""
        if item is None or item.entry is not entry:
            item = _L1Item(entry)
        window = item.window
        signed = window is None or not window.start <= now < window.end
        if signed:
            s = self.settings
            window = window_for(key, now, s.url_window_seconds, s.url_min_remaining_seconds)
            item.url = self.storage.sign(key, window.start, window.expires)
            item.window = window
        info = entry.info
        assert info is not None and window is not None
        return ResolvedUrl(key, item.url, window.expires, window.end, info.etag, info.content_type, info.size), signed

    # -- Redis health ---------------------------------------------------------------------
    def _redis_call(self, call: Callable[[], T], default: T) -> T:
        """Run a Redis call unless Redis failed recently; on failure degrade instead of erroring."""
        if self.redis is None or self.clock() < self._redis_down_until:
            return default
        try:
            return call()
        except redis.RedisError as error:
            log.warning("redis unavailable, serving degraded: %s", error)
            self._mark_redis_down()
            return default

    def _mark_redis_down(self) -> None:
        self.stats.incr("redis_errors")
        self._redis_down_until = self.clock() + self.settings.redis_retry_seconds

    def _touch(self, keys: list[str], now: float) -> None:
        with self._access_lock:
            if len(self._access) < ACCESS_BUFFER_LIMIT:
                self._access.update(dict.fromkeys(keys, now))


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
