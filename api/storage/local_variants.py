"""Variants of the local store, rendered by Pillow on first request and kept on disk.

A variant file is named by key + etag + variant, so a changed object (new etag) is rendered
again and never served stale. Renders run in a small bounded pool (they are CPU- and
memory-heavy; the pool size bounds both), single-flight per file: twenty requests for one new
variant render it once and all wait for that one result. The folder is bounded by bytes and
evicts the least recently used files (a hit touches the file's mtime, so every process sees
the same recency).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError, features

from .base import UnprocessableImage, UnsupportedImage
from .variants import Variant

log = logging.getLogger(__name__)
# Source formats variants are made from; anything else (GIF animations, SVG, TIFF...) is 415.
SOURCE_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "AVIF", "BMP"})
_SAVE: dict[str, tuple[str, dict[str, Any]]] = {
    "jpeg": ("JPEG", {"quality": 80, "optimize": True, "progressive": True}),
    "webp": ("WEBP", {"quality": 78, "method": 4}),
    "avif": ("AVIF", {"quality": 60, "speed": 8}),
    "png": ("PNG", {"optimize": False}),
}
_OWN_FORMAT = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "AVIF": "avif", "BMP": "png"}


def encodable_formats() -> frozenset[str]:
    """Output formats this Pillow build can write (AVIF needs libavif)."""
    out = {"jpeg", "png"}
    if features.check("webp"):
        out.add("webp")
    if features.check("avif"):
        out.add("avif")
    return frozenset(out)


class VariantRenderer:
    def __init__(self, root: Path, max_bytes: int, workers: int = 2, max_pixels: int = 50_000_000) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.formats = encodable_formats()
        self.renders = 0  # files rendered by this process (tests count single-flight with it)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="variant")
        self._lock = threading.RLock()  # a render done at once runs its callback under it
        self._inflight: dict[Path, Future[Path]] = {}
        self._total: int | None = None  # bytes in the folder, learnt on the first write

    def path_for(self, key: str, etag: str, variant: Variant, fmt: str) -> Path:
        digest = hashlib.blake2b(f"{key}\n{etag}\n{variant.tag()}".encode(), digest_size=16).hexdigest()
        return self.root / digest[:2] / f"{digest}.{fmt}"

    def output_format(self, source: Path, variant: Variant) -> str:
        """The format a variant is written in: its own, or the source's for `original`."""
        if variant.format != "original":
            return variant.format
        with self._open(source) as image:
            return _OWN_FORMAT.get(image.format or "", "png")

    def get(self, key: str, etag: str, source: Path, variant: Variant) -> Path:
        """The rendered file of `variant` of `source`; renders it (once) when absent."""
        fmt = self.output_format(source, variant)
        path = self.path_for(key, etag, variant, fmt)
        try:
            os.utime(path)  # a hit: most recently used now
            return path
        except FileNotFoundError:
            pass
        with self._lock:
            future = self._inflight.get(path)
            if future is None:
                future = self._pool.submit(self._render, source, variant, fmt, path)
                self._inflight[path] = future
                future.add_done_callback(lambda _: self._forget(path))
        return future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- rendering (in the pool) -------------------------------------------------------------
    def _forget(self, path: Path) -> None:
        with self._lock:
            self._inflight.pop(path, None)

    def _open(self, source: Path) -> Image.Image:
        """The source, opened lazily (header only); its size is checked before any decoding.
        Pillow's own limit (Image.MAX_IMAGE_PIXELS) is kept as a second line, as an error."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(source)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise UnprocessableImage(message=f"the image has more than {self.max_pixels} pixels") from None
        except UnidentifiedImageError:
            raise UnsupportedImage() from None
        except (OSError, SyntaxError, ValueError) as error:  # a header that breaks off or lies
            raise UnprocessableImage(message=f"the image cannot be decoded: {error}") from None
        if image.format not in SOURCE_FORMATS:
            image.close()
            raise UnsupportedImage(message=f"variants are not made from {image.format} images")
        if image.width * image.height > self.max_pixels:
            image.close()
            raise UnprocessableImage(message=f"the image has more than {self.max_pixels} pixels")
        return image

    def _render(self, source: Path, variant: Variant, fmt: str, path: Path) -> Path:
        with self._open(source) as image:
            try:
                if variant.width and variant.width < image.width:
                    # JPEG decodes at 1/2, 1/4 or 1/8 scale straight away: less memory and time.
                    target = (variant.width, max(1, round(image.height * variant.width / image.width)))
                    image.draft("RGB", target)
                    frame = ImageOps.exif_transpose(image)
                    frame.thumbnail((variant.width, frame.height * 4), Image.Resampling.LANCZOS, reducing_gap=3.0)
                else:
                    frame = ImageOps.exif_transpose(image)
                    frame.load()
            except (OSError, SyntaxError, ValueError) as error:  # truncated or corrupt data
                raise UnprocessableImage(message=f"the image cannot be decoded: {error}") from None
        name, options = _SAVE[fmt]
        if name == "JPEG" and frame.mode not in ("RGB", "L"):
            frame = frame.convert("RGB")
        elif frame.mode not in ("RGB", "RGBA", "L", "LA"):
            frame = frame.convert("RGBA" if "A" in frame.getbands() or "transparency" in frame.info else "RGB")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        frame.save(tmp, name, **options)
        size = tmp.stat().st_size
        os.replace(tmp, path)  # readers see a whole file or none
        with self._lock:
            self.renders += 1
        self._account(size)
        return path

    # -- the folder's bound ------------------------------------------------------------------
    def _files(self) -> list[tuple[float, int, Path]]:
        out = []
        for path in self.root.glob("*/*"):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if not path.name.endswith(".tmp"):
                out.append((st.st_mtime, st.st_size, path))
        return out

    def _account(self, added: int) -> None:
        with self._lock:
            if self._total is None:
                self._total = sum(size for _, size, _ in self._files())
            else:
                self._total += added
            if self._total <= self.max_bytes:
                return
            # Over the bound: rescan (other processes write here too), drop the oldest until
            # 90% of the bound is used, so eviction runs now and then rather than per render.
            files = sorted(self._files())
            total = sum(size for _, size, _ in files)
            for _, size, victim in files:
                if total <= self.max_bytes * 0.9:
                    break
                victim.unlink(missing_ok=True)
                total -= size
            self._total = total
