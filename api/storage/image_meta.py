"""Layout and placeholder metadata of an image: its displayed size and a ThumbHash.

ThumbHash rather than a dominant colour: about 25 bytes (base64) carry a blurred preview with
the image's aspect ratio and alpha, which a colour cannot; `thumbhash` on PyPI and npm encode and
decode the same bytes, so the web app renders what this computes. Computed from a 32 px copy
(JPEG decodes straight at 1/8 scale), a few milliseconds per photo, once per object version.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import thumbhash
from PIL import Image, ImageOps

log = logging.getLogger(__name__)
HASH_INPUT = 32  # px: ThumbHash keeps only a few coefficients, a larger input changes little


@dataclass(frozen=True)
class ImageMeta:
    width: int  # as displayed: after the EXIF orientation is applied; 0: not a readable image
    height: int
    placeholder: str  # ThumbHash bytes, base64 without padding ("" when none could be made)

    @property
    def known(self) -> bool:
        return self.width > 0


# Not a readable image: remembered like a real answer, so it is not asked again.
NOT_AN_IMAGE = ImageMeta(0, 0, "")


def describe(path: Path, max_pixels: int) -> ImageMeta:
    """The metadata of the image at `path`, or NOT_AN_IMAGE when Pillow cannot read it (the API
    then sends no size and no placeholder, and the page falls back to a plain box)."""
    try:
        with Image.open(path) as image:
            if image.width * image.height > max_pixels:
                return NOT_AN_IMAGE
            width, height = _displayed_size(image)  # before `draft`, which shrinks the size
            image.draft("RGB", (HASH_INPUT * 2, HASH_INPUT * 2))
            return ImageMeta(width, height, placeholder_of(ImageOps.exif_transpose(image)))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        log.info("no image metadata for %s: %s", path.name, error)
        return NOT_AN_IMAGE


def from_thumbnail(thumbnail: bytes, width: int, height: int) -> ImageMeta:
    """Metadata from a store's own upright thumbnail and the original's stored size: when the
    thumbnail stands the other way round, the original is turned by EXIF, so its displayed size
    is the stored one swapped."""
    try:
        with Image.open(io.BytesIO(thumbnail)) as image:
            if (image.width > image.height) != (width > height) and image.width != image.height:
                width, height = height, width
            return ImageMeta(width, height, placeholder_of(image))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        log.info("unreadable thumbnail: %s", error)
        return ImageMeta(width, height, "")


def placeholder_of(image: Image.Image) -> str:
    """The ThumbHash of an upright image, base64 without padding."""
    frame = image.convert("RGBA")
    frame.thumbnail((HASH_INPUT, HASH_INPUT))
    hashed = bytes(thumbhash.rgba_to_thumb_hash(frame.width, frame.height, list(frame.tobytes())))
    return base64.b64encode(hashed).rstrip(b"=").decode("ascii")


def _displayed_size(image: Image.Image) -> tuple[int, int]:
    """The dimensions, swapped when EXIF rotates the image by 90 degrees."""
    width, height = image.size
    orientation = image.getexif().get(0x0112, 1)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)
