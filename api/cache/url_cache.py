"""Two-tier cache of object metadata that turns keys into stable signed URLs.

A facade over its parts: L1 (`memory`, per process), L2 (`shared`, Redis, with the expiry
index), single-flight storage calls, the usage recorder (batched access times and counters) and
the Redis breaker behind degraded mode.

URLs are not what is cached: metadata is, and a URL is signed for the key's current window on
the way out (signing is pure and deterministic, so every process hands out the same URL, with
or without Redis). A miss asks storage once per key however many requests wait for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import redis

from ..clock import Clock, system_clock
from ..settings import Settings
from ..storage import Capability, ObjectInfo, ObjectNotFound, Storage, StorageError, StorageUnavailable
from ..storage.variants import ORIGINAL, Variant, VariantRequest, concrete
from ..windows import SigningWindow, window_for
from .breaker import RedisBreaker
from .broadcast import InvalidationBus
from .budget import Admit
from .entry import CacheEntry, ResolvedUrl
from .image_meta import ImageMetaLearner
from .memory import MemoryItem, MemoryTier
from .shared import SharedTier
from .single_flight import SingleFlight
from .stats import CacheStats
from .usage import UsageRecorder

log = logging.getLogger(__name__)
Fetched = CacheEntry | StorageError
Want = tuple[VariantRequest, str] | None  # a variant asked for and the client's Accept header


class UrlCache:
    def __init__(
        self,
        storage: Storage,
        redis_client: redis.Redis | None,
        settings: Settings,
        clock: Clock = system_clock,
        fetch_workers: int = 16,
    ) -> None:
        self.storage = storage
        self.redis = redis_client
        self.settings = settings
        self.clock = clock
        self.stats = CacheStats()
        self.breaker = RedisBreaker(redis_client, settings.redis_retry_seconds, clock, self.stats)
        self.memory = MemoryTier(settings.l1_max_entries, settings.l1_ttl_seconds, clock)
        self.shared = SharedTier(self.breaker, settings)
        self.usage = UsageRecorder(self.breaker, self.stats, settings.access_flush_seconds, clock)
        self._flight: SingleFlight[Fetched] = SingleFlight(fetch_workers)
        # Image metadata reads whole headers (and a tiny decode): few at once, like renders.
        self.meta = ImageMetaLearner(storage, self.memory, self.shared, settings.variant_render_workers)
        self.bus = InvalidationBus(self.breaker, self._drop_local, settings.redis_retry_seconds)

    # -- lookups ----------------------------------------------------------------------------
    def resolve(self, key: str, refresh: bool = False, admit: Admit | None = None, want: Want = None) -> ResolvedUrl:
        """The signed URL of one key; raises a StorageError (ObjectNotFound...) on failure, or
        what `admit` raises when it refuses the storage call a miss needs. `want` names a variant
        (request, Accept header); the entry holds all a variant URL needs, so it costs no HEAD."""
        if not refresh:  # the redirect hot path: a fresh L1 entry needs nothing else
            now = self.clock()
            item = self.memory.get(key)
            if item is not None and not item.entry.missing and self._fresh(item.entry, now):
                self.stats.incr("l1_hits")
                self.usage.touch([key], now)
                resolved, signed = self._url_for(key, item.entry, now, item, want)
                if signed:
                    self.stats.incr("signs")
                self.usage.maybe_flush(now)
                return resolved
        found, errors = self.resolve_many([key], refresh=refresh, admit=admit, want=want)
        if key in errors:
            raise errors[key]
        return found[key]

    def resolve_many(
        self, keys: Iterable[str], refresh: bool = False, admit: Admit | None = None, want: Want = None
    ) -> tuple[dict[str, ResolvedUrl], dict[str, StorageError]]:
        """Resolve keys with one L2 round trip for hits and at most one storage call per key
        with no fresh entry (positive or negative). `admit(n)` is called with that number of
        storage calls before any is made, and may raise to refuse them all."""
        now = self.clock()
        keys = list(dict.fromkeys(keys))
        entries: dict[str, CacheEntry] = {}
        failures: dict[str, StorageError] = {}
        pending = keys
        if not refresh:
            pending = []
            for key, item in self.memory.get_many(keys).items():
                if item is None or not self._fresh(item.entry, now):
                    pending.append(key)
                else:
                    entries[key] = item.entry
            self.stats.incr("l1_hits", len(keys) - len(pending))
            self.stats.incr("l1_misses", len(pending))
        if pending:
            loaded, failures = self._load(pending, now, refresh, admit)
            entries.update(loaded)
        found, errors = self._issue_all(keys, entries, failures, now, want)
        self.usage.touch(list(found), now)  # misses stay out of the access set: nothing to keep hot
        self.usage.maybe_flush(now)
        return found, errors

    # -- writes from listings and jobs ----------------------------------------------------------
    def seed(self, infos: Iterable[ObjectInfo]) -> dict[str, CacheEntry]:
        """Store metadata a listing already returned, so the first view needs no HEAD per image.
        Image metadata (size, placeholder) is kept from the cached entry of the same version,
        else computed once; returns the entries written."""
        now = self.clock()
        infos = list(infos)
        metas = self.meta.for_listing(infos)
        entries = {i.key: CacheEntry(i, now, metas.get(i.key)) for i in infos}
        self.memory.put_many(entries)
        self.shared.write(entries)
        return entries

    def revalidate_many(self, keys: Iterable[str]) -> dict[str, str]:
        """Ask storage again for each key and store the answer; for refresh jobs.

        Returns key -> outcome: "refreshed", "missing", or the error code of a failure (the old
        entry, if any, keeps serving). Raises nothing for per-key storage errors.
        """
        keys = list(dict.fromkeys(keys))
        old = self.shared.read(keys)
        fetched, _ = self._fetch(keys, old, across_nodes=False)  # a job asks storage itself
        outcomes: dict[str, str] = {}
        fresh: dict[str, CacheEntry] = {}
        for key, result in fetched.items():
            if isinstance(result, CacheEntry) and result is not old.get(key):
                fresh[key] = result
                outcomes[key] = "missing" if result.missing else "refreshed"
            else:
                outcomes[key] = result.code if isinstance(result, StorageError) else "storage_unavailable"
        self.shared.write(fresh)
        self.memory.put_many(fresh)
        self._announce(old, fresh)
        return outcomes

    def _announce(self, old: dict[str, CacheEntry], new: dict[str, CacheEntry]) -> None:
        """Tell the other nodes which keys changed object (etag, or now missing / back)."""
        changed = [k for k, e in new.items() if k in old and _etag(old[k]) != _etag(e)]
        if changed:
            self.bus.publish(keys=changed)

    def record_missing(self, key: str) -> None:
        """Storage said 404 for `key` outside a lookup (streaming, a job): replace its entry by a
        negative one at once, in L1 and L2, so the next resolve says 404 instead of handing out
        a URL to nothing until the entry lapses."""
        entry = CacheEntry(None, self.clock())
        self.memory.put_many({key: entry})
        self.shared.write({key: entry})

    def invalidate(self, prefix: str | None = None, key: str | None = None) -> int:
        """Drop one key, every key under a prefix, or everything; returns how many L2 entries.
        Raises RedisError if Redis does not answer (this process's L1 is dropped regardless)."""
        self.memory.drop(prefix, key)
        count = self.shared.invalidate(prefix, key)
        self.bus.publish(prefix, key)
        return count

    def _drop_local(self, prefix: str | None, key: str | None) -> None:
        self.memory.drop(prefix, key)

    # -- the pre-refresh job's view ---------------------------------------------------------------
    def due_keys(self, now: float, lead: float, hot_horizon: float) -> tuple[list[str], list[str]]:
        return self.shared.due_keys(now, lead, hot_horizon)

    def trim(self, now: float, hot_horizon: float) -> tuple[int, int]:
        return self.shared.trim(now, hot_horizon)

    # -- health and lifecycle -----------------------------------------------------------------------
    @property
    def degraded(self) -> bool:
        """True while Redis is failing and the cache serves from L1 and direct storage calls."""
        return self.breaker.open

    def ping(self) -> bool:
        """Check Redis now (not waiting for the back-off), and end degraded mode if it is back."""
        return self.breaker.ping()

    def maybe_flush(self, now: float | None = None) -> None:
        self.usage.maybe_flush(now)

    def flush(self, now: float | None = None) -> None:
        self.usage.flush(now)

    def start_flusher(self) -> threading.Thread:
        """The serving process's background threads: the usage flusher and the listener of
        other nodes' invalidations."""
        self.bus.start()
        return self.usage.start_flusher()

    def close(self) -> None:
        self.usage.stop()
        self.bus.stop()
        self._flight.close()
        self.meta.close()

    # -- loading --------------------------------------------------------------------------------
    def _load(
        self, keys: list[str], now: float, refresh: bool, admit: Admit | None = None
    ) -> tuple[dict[str, CacheEntry], dict[str, StorageError]]:
        """Entries for L1 misses: L2 first (positive, then negative entries), storage for the rest
        once `admit` has accepted their number."""
        stored = self.shared.read(keys)
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
        wanted = [k for k in keys if k not in entries]
        if wanted and admit is not None:
            admit(len(wanted))
        fetched, claimed = self._fetch(wanted, stale)
        written: dict[str, CacheEntry] = {}
        for key, result in fetched.items():
            if isinstance(result, CacheEntry):
                entries[key] = result
                if result is not stale.get(key):
                    written[key] = result
        self.shared.write(written, release=claimed)
        self.memory.put_many(entries)
        self._announce(stale, written)
        return entries, {k: r for k, r in fetched.items() if isinstance(r, StorageError)}

    def _fetch(
        self, keys: list[str], stale: dict[str, CacheEntry], across_nodes: bool = True
    ) -> tuple[dict[str, Fetched], set[str]]:
        """HEAD each key once, however many callers ask at the same time: in this process
        (single-flight), and `across_nodes` (the keys this caller owns in the flight are
        claimed in Redis first, in one pipeline). Returns the answers and the claimed keys."""
        if not keys:
            return {}, set()
        claimed: set[str] = set()

        def claim(owned: list[str]) -> None:
            if across_nodes:
                claimed.update(self.shared.claim(owned, self.settings.single_flight_wait_seconds))
            else:
                claimed.update(owned)

        fetched = self._flight.run(keys, lambda key: self._head_once(key, stale.get(key), key in claimed), claim)
        return fetched, claimed

    def _head_once(self, key: str, stale: CacheEntry | None, claimed: bool) -> Fetched:
        """HEAD `key` unless another node is asking storage for it now: then wait (bounded)
        for its answer in L2. With Redis down, every key is claimed: single-flight per process."""
        if claimed:
            return self._head(key, stale)
        answer = self.shared.await_newer(key, stale, self.settings.single_flight_wait_seconds)
        if answer is not None:
            self.stats.incr("l2_hits")
            return answer
        return self._head(key, stale)  # the other node failed or is slow: ask storage ourselves

    def _head(self, key: str, stale: CacheEntry | None) -> Fetched:
        self.stats.incr("storage_calls")
        try:
            info = self.storage.head(key)
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
        return CacheEntry(info, self.clock(), self.meta.for_fetched(info, stale))

    # -- issuing --------------------------------------------------------------------------------
    def _issue_all(
        self,
        keys: list[str],
        entries: dict[str, CacheEntry],
        failures: dict[str, StorageError],
        now: float,
        want: Want = None,
    ) -> tuple[dict[str, ResolvedUrl], dict[str, StorageError]]:
        found: dict[str, ResolvedUrl] = {}
        errors = dict(failures)
        items = self.memory.get_many(keys)
        signs = 0
        for key in keys:
            entry = entries.get(key)
            if entry is None:
                errors.setdefault(key, StorageUnavailable(key))
            elif entry.missing:
                self.stats.incr("negative_hits")
                errors[key] = ObjectNotFound(key)
            else:
                found[key], signed = self._url_for(key, entry, now, items[key], want)
                signs += signed
        if signs:
            self.stats.incr("signs", signs)  # once per batch: each call locks and feeds Prometheus
        return found, errors

    def _fresh(self, entry: CacheEntry, now: float) -> bool:
        return entry.fresh(now, self.settings.cache_ttl_seconds, self.settings.negative_ttl_seconds)

    def _url_for(
        self, key: str, entry: CacheEntry, now: float, item: MemoryItem | None, want: Want = None
    ) -> tuple[ResolvedUrl, bool]:
        """The URL for `entry` in the current window, signed once per window and variant and kept
        on the L1 item; also says whether it had to be signed now."""
        if item is None or item.entry is not entry:
            item = MemoryItem(entry)
        window = item.window
        signer = self.storage.signing_key()  # a new temporary key re-signs at once
        if window is None or not window.start <= now < window.end or item.signer != signer:
            s = self.settings
            not_after = signer.expires_at if signer else None  # no URL outlives its key
            window = window_for(key, now, s.url_window_seconds, s.url_min_remaining_seconds, not_after)
            item.window, item.signer, item.issued = window, signer, {}
        variant = self._variant(entry, want)
        issued = item.issued.get(variant)
        if issued is not None:
            return issued, False
        issued = item.issued[variant] = self._issue(key, entry, window, variant)
        return issued, True

    def _issue(self, key: str, entry: CacheEntry, window: SigningWindow, variant: Variant) -> ResolvedUrl:
        info = entry.info
        assert info is not None
        if variant.original:
            url = self.storage.sign(key, window.start, window.expires)
        else:
            url = self.storage.sign_variant(key, variant, window.start, window.expires)
        meta = entry.meta if entry.meta is not None and entry.meta.known else None
        return ResolvedUrl(
            key,
            url,
            window.expires,
            window.end,
            info.etag,
            info.content_type,
            info.size,
            variant.tag_or_original(),
            meta.width if meta else None,
            meta.height if meta else None,
            meta.placeholder if meta else None,
        )

    def variant_of(self, key: str, want: Want) -> Variant | None:
        """The variant a lookup of `key` with `want` would sign now, from this process's entry
        (None when it holds none); lets a warm render exactly the files pages will ask for."""
        item = self.memory.get(key)
        if item is None or item.entry.missing:
            return None
        return self._variant(item.entry, want)

    def _variant(self, entry: CacheEntry, want: Want) -> Variant:
        """The concrete variant for what was asked: the original when nothing was, or when the
        store cannot make variants."""
        if want is None or want[0].original or Capability.VARIANTS not in self.storage.capabilities:
            return ORIGINAL
        request, accept = want
        info = entry.info
        assert info is not None
        width = entry.meta.width if entry.meta else None  # known (0: unknown): never snap past it
        ladder, formats = self.settings.variant_widths, self.storage.variant_formats
        return concrete(request, ladder, accept, info.content_type, formats, width or None)


def _etag(entry: CacheEntry) -> str | None:
    return entry.info.etag if entry.info is not None else None
