"""Local folder storage: the embedded default, also for on-prem and tests.

Signed URLs point at the app's own `/objects/<key>` route, which checks them like nginx's
secure_link: a bad signature is 403, an expired one 410.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Unpack
from urllib.parse import quote, urlencode, urlsplit

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
    StorageError,
    guess_content_type,
)
from .image_meta import NOT_AN_IMAGE, ImageMeta, describe
from .variants import CONTENT_TYPES, ORIGINAL, Variant

if TYPE_CHECKING:
    from .local_variants import VariantRenderer

CHUNK_SIZE = 64 * 1024
OBJECTS_PATH = "/objects/"
# What `sign` writes, exactly: `exp` in ASCII digits (str.isdigit also takes '²'), `sig` the
# unpadded base64url of an HMAC-SHA256. Anything else is refused before int() or the compare.
EXPIRES = re.compile(r"[0-9]{1,12}")
SIGNATURE = re.compile(r"[A-Za-z0-9_-]{43}")


class LocalStorage(Storage):
    name = "local"
    capabilities = frozenset({Capability.SELF_SERVED_URLS})

    def __init__(
        self,
        root: Path,
        secret: str,
        base_url: str | None = None,
        renderer: VariantRenderer | None = None,
        **kwargs: Unpack[RetryPolicy],
    ) -> None:
        super().__init__(**kwargs)
        self.renderer = renderer
        if renderer is not None:
            self.capabilities = frozenset(
                {Capability.SELF_SERVED_URLS, Capability.VARIANTS, Capability.VARIANT_BYTES, Capability.IMAGE_META}
            )
            self.variant_formats = renderer.formats
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._secret = secret.encode("utf-8")
        self.base_url = (base_url or "").rstrip("/")
        try:
            self.max_segment_bytes = os.pathconf(self.root, "PC_NAME_MAX")
        except (OSError, ValueError):
            self.max_segment_bytes = 255

    # -- signing ------------------------------------------------------------------------
    def _signature(self, key: str, expires: int, variant: Variant = ORIGINAL) -> str:
        # The original's message stays `key\nexp`, so URLs signed before variants still verify.
        spec = "" if variant.original else f"\n{variant.tag()}"
        mac = hmac.new(self._secret, f"{key}\n{expires}{spec}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")

    def sign(self, key: str, start: int, expires: int) -> str:
        path = OBJECTS_PATH + quote(key, safe="/")
        return f"{self.base_url}{path}?exp={expires}&sig={self._signature(key, expires)}"

    def sign_variant(self, key: str, variant: Variant, start: int, expires: int) -> str:
        if variant.original:
            return self.sign(key, start, expires)
        spec = urlencode([("w", variant.width or 0), ("f", variant.format)])
        path = OBJECTS_PATH + quote(key, safe="/")
        return f"{self.base_url}{path}?{spec}&exp={expires}&sig={self._signature(key, expires, variant)}"

    def verify_url(
        self, key: str, expires: str | None, signature: str | None, now: float, variant: Variant | None = None
    ) -> None:
        variant = variant or ORIGINAL
        if not expires or not signature or not EXPIRES.fullmatch(expires) or not SIGNATURE.fullmatch(signature):
            raise SignatureInvalid(key, message="signed URL rejected: missing or malformed exp/sig")
        if not hmac.compare_digest(self._signature(key, int(expires), variant), signature):
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

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()

    # -- I/O ----------------------------------------------------------------------------
    def path_of(self, key: str) -> Path:
        """The file behind `key`; never outside the root, even through symlinks. Filesystem
        trouble comes out as the storage vocabulary (see `_fs_error`)."""
        try:
            path = Path(os.path.realpath(self.root / key, strict=True))
        except OSError as error:
            raise self._fs_error(key, error) from None
        if not path.is_relative_to(self.root):
            raise AccessDenied(key, fault="outside_root")
        return path

    def _fs_error(self, key: str, error: OSError) -> StorageError:
        """A filesystem error as the storage vocabulary: missing names, links to nothing, loops
        and over-long names are 404 (retrying cannot help); permissions 403; the rest 502.
        Faults of the store itself (loops, dangling links, permissions, I/O) are flagged."""
        code = error.errno
        if code in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR):
            if code == errno.ENOENT and os.path.islink(self.root / key):
                return ObjectNotFound(
                    key, message="object not found: its link points at nothing", fault="dangling_link"
                )
            return ObjectNotFound(key)
        if code == errno.ELOOP:
            return ObjectNotFound(key, message="object not found: its path is a symlink loop", fault="symlink_loop")
        if code == errno.ENAMETOOLONG:
            return ObjectNotFound(key, message="object not found: a name in its path is too long for the store")
        if code in (errno.EACCES, errno.EPERM):
            return AccessDenied(key, fault="permission_denied")
        name = errno.errorcode.get(code or 0, "os_error").lower()
        return StorageError(key, message="storage could not read the object", fault=name)

    def _info(self, key: str, st: os.stat_result) -> ObjectInfo:
        if not stat.S_ISREG(st.st_mode):
            raise ObjectNotFound(key)  # a directory (or a device) is not an object
        return ObjectInfo(
            key=key,
            size=st.st_size,
            etag=f'"{st.st_mtime_ns:x}-{st.st_size:x}"',
            content_type=guess_content_type(key),
            last_modified=st.st_mtime,
        )

    def _stat(self, key: str) -> ObjectInfo:
        path = self.path_of(key)
        try:
            return self._info(key, path.stat())
        except OSError as error:
            raise self._fs_error(key, error) from None

    def _head(self, key: str) -> ObjectInfo:
        return self._stat(key)

    def image_meta(self, info: ObjectInfo) -> ImageMeta | None:
        if self.renderer is None:
            return None
        if not info.content_type.startswith("image/"):
            return NOT_AN_IMAGE
        try:
            path = self.path_of(info.key)
        except StorageError:
            return None  # gone or unreadable now: ask again next time
        return describe(path, self.renderer.max_pixels)

    def open_variant(self, key: str, variant: Variant, byte_range: tuple[int, int | None] | None) -> ObjectStream:
        """The bytes of a variant, rendered on first request (see `local_variants`); not retried:
        a failed render fails the same way again."""
        if self.renderer is None:
            raise NotImplementedError("variants are off")
        source = self._stat(key)
        rendered = self.renderer.get(key, source.etag, self.path_of(key), variant)
        digest = rendered.stem
        content_type = CONTENT_TYPES.get(rendered.suffix[1:], source.content_type)
        return self._stream(key, rendered, byte_range, lambda st: _variant_info(key, digest, content_type, st))

    def _open(self, key: str, byte_range: tuple[int, int | None] | None) -> ObjectStream:
        return self._stream(key, self.path_of(key), byte_range, lambda st: self._info(key, st))

    def _stream(
        self,
        key: str,
        path: Path,
        byte_range: tuple[int, int | None] | None,
        describe: Callable[[os.stat_result], ObjectInfo],
    ) -> ObjectStream:
        try:
            # O_NOFOLLOW: a link swapped in after path_of's check is refused, not followed.
            handle = os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb")
        except OSError as error:
            raise self._fs_error(key, error) from None
        try:
            info = describe(os.fstat(handle.fileno()))  # the metadata of the bytes sent
            first, last = 0, info.size - 1
            if byte_range is not None:
                first, last = byte_range[0], min(byte_range[1] if byte_range[1] is not None else last, last)
                if first >= info.size or first > last:
                    raise RangeNotSatisfiable(key)
            handle.seek(first)
        except BaseException:
            handle.close()
            raise

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
        """Entries that cannot be read (loops, dangling links, links out of the root,
        permissions) are skipped and counted as faults: one bad file never breaks a page."""
        keys = sorted(self._walk(prefix))
        if cursor:
            keys = [k for k in keys if k > cursor]
        page = keys[:limit]
        items = []
        for key in page:
            try:
                items.append(self._stat(key))
            except StorageError as error:
                if error.fault:
                    self.faults.record(error.fault)
        return ListPage(
            items=items, next_cursor=page[-1] if len(keys) > limit else None, skipped=len(page) - len(items)
        )

    def _walk(self, prefix: str) -> Iterator[str]:
        # Walk only the deepest directory the prefix names, then filter by the full prefix.
        base_dir = self.root / prefix.rpartition("/")[0]
        try:
            if not Path(os.path.realpath(base_dir, strict=True)).is_relative_to(self.root) or not base_dir.is_dir():
                return
        except OSError:
            return  # the prefix names no readable directory: nothing under it

        def unreadable(error: OSError) -> None:
            fault = self._fs_error(prefix, error).fault
            if fault:
                self.faults.record(fault)

        for dirpath, dirnames, filenames in os.walk(base_dir, onerror=unreadable):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for filename in filenames:
                if filename.startswith("."):
                    continue
                key = Path(dirpath, filename).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key


def _variant_info(key: str, digest: str, content_type: str, st: os.stat_result) -> ObjectInfo:
    """A variant's metadata: its etag is its file's name (key + source etag + variant)."""
    return ObjectInfo(
        key=key, size=st.st_size, etag=f'"{digest}"', content_type=content_type, last_modified=st.st_mtime
    )
