"""What the cache stores per key, and what it hands out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from ..storage import ObjectInfo
from ..storage.image_meta import ImageMeta


class EntryJson(TypedDict):
    """A cache entry as stored in Redis: `x` marks a missing object, which has no metadata."""

    v: float  # validated_at
    x: NotRequired[int]
    s: NotRequired[int]  # size
    e: NotRequired[str]  # etag
    c: NotRequired[str]  # content type
    m: NotRequired[float]  # last modified
    w: NotRequired[int]  # image width, height and ThumbHash (base64), when it is an image
    h: NotRequired[int]
    t: NotRequired[str]


class ResolvedUrlDict(TypedDict):
    """A ResolvedUrl as the API sends it."""

    key: str
    url: str
    expires_at: int
    refresh_at: int
    etag: str
    content_type: str
    size: int
    variant: str
    width: int | None
    height: int | None
    placeholder: str | None


@dataclass(frozen=True)
class CacheEntry:
    """Validated metadata of one key (or the fact that it is missing) and when it was checked."""

    info: ObjectInfo | None  # None: the object does not exist (negative entry)
    validated_at: float
    meta: ImageMeta | None = None  # size and placeholder of an image, computed once per etag

    @property
    def missing(self) -> bool:
        return self.info is None

    def fresh(self, now: float, ttl: float, negative_ttl: float) -> bool:
        return now < self.validated_at + (negative_ttl if self.missing else ttl)

    def to_json(self) -> EntryJson:
        """Short field names: one entry per cached key, so Redis memory is per-byte."""
        if self.info is None:
            return {"x": 1, "v": self.validated_at}
        i = self.info
        out: EntryJson = {"s": i.size, "e": i.etag, "c": i.content_type, "m": i.last_modified, "v": self.validated_at}
        if self.meta is not None and self.meta.known:
            out["w"], out["h"], out["t"] = self.meta.width, self.meta.height, self.meta.placeholder
        elif self.meta is not None:
            out["w"] = 0  # not a readable image: remembered in 6 bytes, not asked again
        return out

    @classmethod
    def from_json(cls, key: str, data: Mapping[str, Any]) -> CacheEntry:
        if data.get("x"):
            return cls(None, float(data["v"]))
        info = ObjectInfo(key, int(data["s"]), data["e"], data["c"], float(data["m"]))
        meta = ImageMeta(int(data["w"]), int(data.get("h", 0)), str(data.get("t", ""))) if "w" in data else None
        return cls(info, float(data["v"]), meta)

    def meta_for(self, info: ObjectInfo) -> ImageMeta | None:
        """This entry's metadata when it describes the same version as `info` (same etag)."""
        return self.meta if self.info is not None and self.info.etag == info.etag else None


@dataclass(frozen=True)
class ResolvedUrl:
    """A signed URL as handed to clients; `refresh_at` is when a newer URL is issued."""

    key: str
    url: str
    expires_at: int
    refresh_at: int
    etag: str
    content_type: str
    size: int
    variant: str = "original"  # the variant `url` serves (`w320.webp`), or "original"
    width: int | None = None  # the original's displayed size and ThumbHash, when known
    height: int | None = None
    placeholder: str | None = None

    def to_dict(self) -> ResolvedUrlDict:
        # A literal, not dataclasses.asdict (a deep copy): this runs once per key in every batch.
        return {
            "key": self.key,
            "url": self.url,
            "expires_at": self.expires_at,
            "refresh_at": self.refresh_at,
            "etag": self.etag,
            "content_type": self.content_type,
            "size": self.size,
            "variant": self.variant,
            "width": self.width,
            "height": self.height,
            "placeholder": self.placeholder,
        }
