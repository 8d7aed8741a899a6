"""Image metadata of cache entries (displayed size, ThumbHash): learned once per object version.

A listing or a HEAD brings an object's etag; if L1 or L2 already holds metadata for that etag it
is kept, else the store computes it (a header read and a tiny decode), a few at once. Metadata
is a nicety: a failure to compute it never fails a lookup.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from ..storage import Capability, ObjectInfo, Storage
from ..storage.image_meta import ImageMeta
from .entry import CacheEntry
from .memory import MemoryTier
from .shared import SharedTier
from .single_flight import SingleFlight

log = logging.getLogger(__name__)


class ImageMetaLearner:
    def __init__(self, storage: Storage, memory: MemoryTier, shared: SharedTier, workers: int) -> None:
        self.storage = storage
        self.memory = memory
        self.shared = shared
        self._flight: SingleFlight[ImageMeta | None] = SingleFlight(max(1, workers))

    @property
    def enabled(self) -> bool:
        return Capability.IMAGE_META in self.storage.capabilities

    def for_listing(self, infos: list[ObjectInfo]) -> dict[str, ImageMeta | None]:
        """Metadata for the objects a listing returned: cached for their etag, else computed."""
        if not self.enabled:
            return {}  # no read, no pool
        known = self._cached(infos)
        by_key = {i.key: i for i in infos if i.key not in known}
        computed = self._flight.run(list(by_key), lambda key: self.compute(by_key[key]))
        return {**computed, **known}

    def for_fetched(self, info: ObjectInfo, stale: CacheEntry | None) -> ImageMeta | None:
        """Metadata for an object just fetched: the stale entry's when the etag is unchanged."""
        meta = stale.meta_for(info) if stale is not None else None
        return meta or self.compute(info)

    def compute(self, info: ObjectInfo) -> ImageMeta | None:
        if not self.enabled:
            return None
        try:
            return self.storage.image_meta(info)
        except Exception:  # metadata is a nicety: never fail a lookup for it
            log.warning("image metadata failed for %r", info.key, exc_info=True)
            return None

    def _cached(self, infos: list[ObjectInfo]) -> dict[str, ImageMeta]:
        """Metadata already cached for these versions: L1 first, then one L2 read for the rest."""
        known: dict[str, ImageMeta] = {}
        rest = infos
        for read in (self._memory_entries, self.shared.read):
            if not rest:
                break
            entries = read([i.key for i in rest])
            for info in rest:
                entry = entries.get(info.key)
                meta = entry.meta_for(info) if entry is not None else None
                if meta is not None:
                    known[info.key] = meta
            rest = [i for i in rest if i.key not in known]
        return known

    def _memory_entries(self, keys: Iterable[str]) -> Mapping[str, CacheEntry]:
        return {key: item.entry for key, item in self.memory.get_many(keys).items() if item is not None}

    def close(self) -> None:
        self._flight.close()
