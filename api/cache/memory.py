"""L1: the per-process tier, a bounded TTL LRU (cachetools) of entries and the URLs signed
from them."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from cachetools import TTLCache

from ..clock import Clock
from ..storage import SigningKey
from ..storage.variants import Variant
from ..windows import SigningWindow
from .entry import CacheEntry, ResolvedUrl


class MemoryItem:
    """An L1 value: the entry plus the URLs signed for one window, reused until it rolls over."""

    __slots__ = ("entry", "issued", "signer", "window")

    def __init__(self, entry: CacheEntry) -> None:
        self.entry = entry
        self.window: SigningWindow | None = None
        self.signer: SigningKey | None = None  # the storage key that signed `issued`
        # What was handed out for this window, per variant (the original too): a lookup in the
        # same window returns the same object, with nothing signed or built.
        self.issued: dict[Variant, ResolvedUrl] = {}


class MemoryTier:
    def __init__(self, max_entries: int, ttl_seconds: float, clock: Clock) -> None:
        self._items: TTLCache[str, MemoryItem] = TTLCache(maxsize=max_entries, ttl=ttl_seconds, timer=clock)
        self._lock = threading.Lock()  # cachetools caches are not thread-safe

    def get(self, key: str) -> MemoryItem | None:
        with self._lock:
            return self._items.get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, MemoryItem | None]:
        """One locked pass for a whole batch, not one lock per key."""
        with self._lock:
            return {key: self._items.get(key) for key in keys}

    def put_many(self, entries: dict[str, CacheEntry]) -> None:
        with self._lock:
            for key, entry in entries.items():
                self._items[key] = MemoryItem(entry)

    def drop(self, prefix: str | None = None, key: str | None = None) -> int:
        """Forget one key, every key under a prefix, or everything; returns how many."""
        with self._lock:
            doomed = [k for k in self._items if (k == key if key is not None else k.startswith(prefix or ""))]
            for k in doomed:
                self._items.pop(k, None)
        return len(doomed)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
