"""The storage contract every adapter fulfils.

The base class owns policy (retries of transient errors, the error vocabulary); adapters only
talk to their store. Views and jobs never see a vendor exception: adapters translate them into
the errors below.
"""

from __future__ import annotations

import logging
import mimetypes
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, TypedDict, TypeVar

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from ..vocabulary import ErrorCode
from .image_meta import ImageMeta
from .variants import Variant

log = logging.getLogger(__name__)
T = TypeVar("T")


class StorageError(Exception):
    """Base of every storage failure; `status` is the HTTP status it maps to, `message` what
    the client reads (a class default, or given per error)."""

    status = 502
    code = ErrorCode.STORAGE_ERROR
    message = "storage failed"
    # What is wrong with the store itself (not with the request), for /readyz: None when the
    # error says only that the request cannot be served (a missing object, a bad range).
    fault: str | None = "storage_error"

    def __init__(self, *args: object, message: str | None = None, fault: str | None = None) -> None:
        super().__init__(*args)
        if message is not None:
            self.message = message
        if fault is not None:
            self.fault = fault


class ObjectNotFound(StorageError):
    status = 404
    code = ErrorCode.NOT_FOUND
    message = "object not found"
    fault = None


class AccessDenied(StorageError):
    status = 403
    code = ErrorCode.ACCESS_DENIED
    message = "storage denied access to the object"
    fault = "access_denied"


class RangeNotSatisfiable(StorageError):
    status = 416
    code = ErrorCode.RANGE_NOT_SATISFIABLE
    message = "requested range not satisfiable"
    fault = None


class StorageUnavailable(StorageError):
    """Transient: timeouts, dropped connections, 5xx. Worth retrying."""

    status = 503
    code = ErrorCode.STORAGE_UNAVAILABLE
    message = "storage is unavailable, try again"
    fault = "storage_unavailable"


class SignatureInvalid(StorageError):
    """A URL this store serves itself was not made by its signer."""

    status = 403
    code = ErrorCode.SIGNATURE_INVALID
    message = "signed URL rejected"
    fault = None


class SignatureExpired(StorageError):
    """A URL this store serves itself was genuine, but its time is up."""

    status = 410
    code = ErrorCode.SIGNATURE_EXPIRED
    message = "signed URL has expired; resolve the key again"
    fault = None


class UnsupportedImage(StorageError):
    """The object is not an image this server can decode (a variant of it cannot be made)."""

    status = 415
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE
    message = "the object is not an image that can be resized; ask for the original"
    fault = None


class UnprocessableImage(StorageError):
    """The object claims to be an image but is corrupt, truncated, or has too many pixels."""

    status = 422
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE
    message = "the image is corrupt or too large to resize; ask for the original"
    fault = None


class Capability(StrEnum):
    """What a store can do beyond the contract every store fulfils."""

    SELF_SERVED_URLS = "self_served_urls"  # its signed URLs point at this app (`verify_url`)
    VARIANTS = "variants"  # `sign_variant`: URLs of resized or converted images, rule signed in
    IMAGE_META = "image_meta"  # `image_meta`: width, height and a placeholder of an image
    VARIANT_BYTES = "variant_bytes"  # `open_variant`: it renders variants itself (the proxy streams them)


@dataclass(frozen=True)
class SigningKey:
    id: str  # changes when the key does (an access key id, never a secret)
    expires_at: float | None  # epoch seconds; None: does not expire


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    content_type: str
    last_modified: float  # epoch seconds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectInfo:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ListPage:
    items: list[ObjectInfo]
    next_cursor: str | None
    skipped: int = 0  # entries of this page that could not be read (counted as faults too)


class FaultLog:
    """Store faults this process has seen (loops, permissions, outages): /readyz reports them,
    so a store that fails some requests does not look healthy. Per process, like the probe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.last: str | None = None

    def record(self, fault: str) -> None:
        with self._lock:
            self.count += 1
            self.last = fault

    def snapshot(self) -> tuple[int, str | None]:
        with self._lock:
            return self.count, self.last


@dataclass
class ObjectStream:
    """An open object (or a byte range of it) to stream to a client."""

    info: ObjectInfo
    chunks: Iterator[bytes]
    length: int
    byte_range: tuple[int, int] | None  # inclusive (first, last) when a range was asked
    close: Callable[[], None]


def guess_content_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class RetryPolicy(TypedDict, total=False):
    """The base class's retry settings, passed through by every adapter's constructor."""

    retries: int
    backoff: float


class Storage(ABC):
    """A private object store that can sign time-limited read URLs."""

    name: str = "abstract"
    capabilities: frozenset[Capability] = frozenset()

    # Longest path segment (between slashes) the store can hold, in UTF-8 bytes; None: no
    # limit beyond the key's. A longer segment is a bad key (400), not a storage call.
    max_segment_bytes: int | None = None

    def __init__(self, retries: int = 3, backoff: float = 0.05) -> None:
        self.retries = retries
        self.backoff = backoff
        self.faults = FaultLog()

    # -- public API: retried, vocabulary-checked -------------------------------------------
    def head(self, key: str) -> ObjectInfo:
        """Metadata of one object; raises ObjectNotFound, AccessDenied or StorageUnavailable."""
        return self._retrying(lambda: self._head(key))

    def open(self, key: str, byte_range: tuple[int, int | None] | None = None) -> ObjectStream:
        """Stream an object, or the inclusive byte range (first, last|None) of it."""
        return self._retrying(lambda: self._open(key, byte_range))

    def list(self, prefix: str = "", cursor: str | None = None, limit: int = 100) -> ListPage:
        """One page of objects under `prefix`, in key order, resuming after `cursor`."""
        return self._retrying(lambda: self._list(prefix, cursor, limit))

    def pages(self, prefix: str = "", cursor: str | None = None, limit: int = 500) -> Iterator[ListPage]:
        """Every page under `prefix` from `cursor` on, each fetched when the previous one is
        consumed (a page's `next_cursor` is where a resumed walk starts)."""
        while True:
            page = self.list(prefix, cursor, limit)
            yield page
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    @abstractmethod
    def sign(self, key: str, start: int, expires: int) -> str:
        """A read URL valid from `start` to `expires` (epoch seconds). Pure: no I/O, and
        deterministic: the same arguments give the same URL in every process."""

    # Output formats `sign_variant` can produce (besides "original"); with VARIANTS only.
    variant_formats: frozenset[str] = frozenset()

    def sign_variant(self, key: str, variant: Variant, start: int, expires: int) -> str:
        """With VARIANTS: like `sign`, for a resized or converted image; the variant's rule is
        covered by the signature, so a client cannot strip or change it. Pure and deterministic."""
        raise NotImplementedError(f"storage {self.name!r} does not make variants")

    def open_variant(self, key: str, variant: Variant, byte_range: tuple[int, int | None] | None) -> ObjectStream:
        """With VARIANT_BYTES: stream a variant, like `open`. Raises UnsupportedImage (415) or
        UnprocessableImage (422) when the object cannot be resized."""
        raise NotImplementedError(f"storage {self.name!r} does not render variants")

    def image_meta(self, info: ObjectInfo) -> ImageMeta | None:
        """With IMAGE_META: the displayed size and placeholder of the object `info` describes,
        or None when it is not a readable image. Costs a read: callers cache the answer."""
        return None

    def signing_key(self) -> SigningKey | None:
        """The key `sign` uses now, when it can change while the process runs (temporary keys):
        a new key re-signs, and no URL may be valid past its `expires_at`. Raises
        StorageUnavailable when there is no live key."""
        return None

    @abstractmethod
    def owns_url(self, url: str) -> bool:
        """True when `url` points at this store's host: the only redirect targets allowed."""

    @property
    @abstractmethod
    def url_origin(self) -> str:
        """`scheme://host[:port]` of the URLs `sign` makes, or "" when they are relative: the
        one origin pages may load images from (Content-Security-Policy)."""

    def verify_url(
        self, key: str, expires: str | None, signature: str | None, now: float, variant: Variant | None = None
    ) -> None:
        """With SELF_SERVED_URLS: raise SignatureInvalid or SignatureExpired unless the signed
        URL's parameters (and the variant it names) are genuine and live."""
        raise NotImplementedError(f"storage {self.name!r} does not serve its own URLs")

    def close(self) -> None:
        """Release connections."""

    # -- adapter hooks --------------------------------------------------------------------
    @abstractmethod
    def _head(self, key: str) -> ObjectInfo: ...

    @abstractmethod
    def _open(self, key: str, byte_range: tuple[int, int | None] | None) -> ObjectStream: ...

    @abstractmethod
    def _list(self, prefix: str, cursor: str | None, limit: int) -> ListPage: ...

    def _retrying(self, call: Callable[[], T]) -> T:
        """Retry transient errors with exponential backoff and jitter; others fail at once."""
        retryer = Retrying(
            retry=retry_if_exception_type(StorageUnavailable),
            stop=stop_after_attempt(self.retries + 1),
            # Gaps grow b, 2b, 4b (+ up to b/2 of jitter) so clients do not retry in lockstep.
            wait=wait_exponential_jitter(multiplier=self.backoff, jitter=self.backoff / 2, max=self.backoff * 8),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "storage %s: transient error, retry %d: %s",
                self.name,
                state.attempt_number,
                state.outcome.exception() if state.outcome else "",
            ),
        )
        try:
            return retryer(call)
        except StorageError as error:
            if error.fault:
                self.faults.record(error.fault)
            raise
