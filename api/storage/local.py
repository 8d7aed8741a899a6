"""Local folder storage: the embedded default, also for on-prem and tests.

Signed URLs point at the app's own `/objects/<key>` route, which checks them like nginx's
secure_link: a bad signature is 403, an expired one 410.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Unpack
from urllib.parse import quote, urlsplit

from .base import (
    AccessDenied,
    Capability,
    ListPage,
    ObjectInfo,
    ObjectNotFound,
    ObjectStream,
    RangeNotSatisfiable,
    RetryPolicy,
    SignatureExpired,
    SignatureInvalid,
    Storage,
    guess_content_type,
)

CHUNK_SIZE = 64 * 1024
OBJECTS_PATH = "/objects/"


class LocalStorage(Storage):
    name = "local"
    capabilities = frozenset({Capability.SELF_SERVED_URLS})

    def __init__(self, root: Path, secret: str, base_url: str | None = None, **kwargs: Unpack[RetryPolicy]) -> None:
        super().__init__(**kwargs)
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._secret = secret.encode("utf-8")
        self.base_url = (base_url or "").rstrip("/")

    # -- signing ------------------------------------------------------------------------
    def _signature(self, key: str, expires: int) -> str:
        mac = hmac.new(self._secret, f"{key}\n{expires}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")

    def sign(self, key: str, start: int, expires: int) -> str:
        path = OBJECTS_PATH + quote(key, safe="/")
        return f"{self.base_url}{path}?exp={expires}&sig={self._signature(key, expires)}"

    def verify_url(self, key: str, expires: str | None, signature: str | None, now: float) -> None:
        if not expires or not signature or not expires.isdigit():
            raise SignatureInvalid(key, message="signed URL rejected: missing or malformed exp/sig")
        if not hmac.compare_digest(self._signature(key, int(expires)), signature):
            raise SignatureInvalid(key, message="signed URL rejected: signature does not match")
        if int(expires) <= now:
            raise SignatureExpired(key)

    @property
    def url_origin(self) -> str:
        return self.base_url

    def owns_url(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
        return origin == self.base_url and parts.path.startswith(OBJECTS_PATH)

    # -- I/O ----------------------------------------------------------------------------
    def path_of(self, key: str) -> Path:
        """The file behind `key`; never outside the root, even through symlinks."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise AccessDenied(key)
        return path

    def _info(self, key: str, path: Path) -> ObjectInfo:
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        if not path.is_file():
            raise ObjectNotFound(key)
        return ObjectInfo(
            key=key,
            size=st.st_size,
            etag=f'"{st.st_mtime_ns:x}-{st.st_size:x}"',
            content_type=guess_content_type(key),
            last_modified=st.st_mtime,
        )

    def _head(self, key: str) -> ObjectInfo:
        return self._info(key, self.path_of(key))

    def _open(self, key: str, byte_range: tuple[int, int | None] | None) -> ObjectStream:
        path = self.path_of(key)
        info = self._info(key, path)
        first, last = 0, info.size - 1
        if byte_range is not None:
            first, last = byte_range[0], min(byte_range[1] if byte_range[1] is not None else last, last)
            if first >= info.size or first > last:
                raise RangeNotSatisfiable(key)
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        handle.seek(first)

        def chunks(remaining: int = last - first + 1) -> Iterator[bytes]:
            while remaining > 0:
                block = handle.read(min(CHUNK_SIZE, remaining))
                if not block:
                    break
                remaining -= len(block)
                yield block

        return ObjectStream(
            info=info,
            chunks=chunks(),
            length=last - first + 1,
            byte_range=(first, last) if byte_range is not None else None,
            close=handle.close,
        )

    def _list(self, prefix: str, cursor: str | None, limit: int) -> ListPage:
        keys = sorted(self._walk(prefix))
        if cursor:
            keys = [k for k in keys if k > cursor]
        page = keys[:limit]
        items = [self._info(k, self.root / k) for k in page]
        return ListPage(items=items, next_cursor=page[-1] if len(keys) > limit else None)

    def _walk(self, prefix: str) -> Iterator[str]:
        # Walk only the deepest directory the prefix names, then filter by the full prefix.
        base_dir = self.root / prefix.rpartition("/")[0]
        if not base_dir.resolve().is_relative_to(self.root) or not base_dir.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base_dir):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for filename in filenames:
                if filename.startswith("."):
                    continue
                key = Path(dirpath, filename).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key
