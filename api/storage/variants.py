"""Variants: an image at a width from the ladder, in a format. Parsing and negotiation are pure.

A variant is (key, width, format). Widths snap up to the next ladder step, so a page asking for
any width between two steps shares one rendered (and browser-cached) variant; a step is never
wider than the original when its width is known. `auto` picks a format from `Accept`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

FORMATS = ("auto", "original", "avif", "webp", "jpeg", "png")
# Widest request accepted (larger is a 400): the ladder tops out well below it anyway.
MAX_REQUEST_WIDTH = 10240
# Content types each output format is sent with; `original` keeps the source's.
CONTENT_TYPES = {"avif": "image/avif", "webp": "image/webp", "jpeg": "image/jpeg", "png": "image/png"}
_SOURCE_FORMATS = {"image/jpeg": "jpeg", "image/png": "png", "image/webp": "webp", "image/avif": "avif"}


class InvalidVariant(ValueError):
    """A width or format that cannot name a variant; `field` is the parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Variant:
    """A concrete variant: a ladder width (None: full size) and an output format (never auto)."""

    width: int | None
    format: str  # one of FORMATS but "auto"

    @property
    def original(self) -> bool:
        return self.width is None and self.format == "original"

    def tag(self) -> str:
        """A short, stable name of the variant (`w320.webp`), for files and signatures."""
        return f"w{self.width or 0}.{self.format}"

    def tag_or_original(self) -> str:
        return "original" if self.original else self.tag()


ORIGINAL = Variant(None, "original")


@dataclass(frozen=True)
class VariantRequest:
    """What a client asked for: a width (any, not yet snapped) and a format (maybe auto)."""

    width: int | None = None
    format: str = "original"

    @property
    def original(self) -> bool:
        return self.width is None and self.format == "original"

    @property
    def negotiated(self) -> bool:
        """True when the answer depends on `Accept` (responses must say `Vary: Accept`)."""
        return self.format == "auto"


def parse_width(raw: object, field: str = "w", limit: int = MAX_REQUEST_WIDTH) -> int | None:
    """A requested width in pixels: a decimal integer 1..`limit`; None/"" means full size."""
    if raw is None or raw == "":
        return None
    text = str(raw).strip() if not isinstance(raw, bool) else ""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif text.isascii() and text.isdigit():
        value = int(text)
    else:
        raise InvalidVariant(field, f"{field}: must be a whole number of pixels, got {raw!r}")
    if not 1 <= value <= limit:
        raise InvalidVariant(field, f"{field}: must be between 1 and {limit} pixels, got {value}")
    return value


def parse_format(raw: object, field: str = "f") -> str:
    if raw is None or raw == "":
        return "original"
    value = str(raw).strip().lower()
    if value == "jpg":
        value = "jpeg"
    if value not in FORMATS:
        raise InvalidVariant(field, f"{field}: must be one of {', '.join(FORMATS)}, got {raw!r}")
    return value


def parse_request(
    width: object, fmt: object, limit: int = MAX_REQUEST_WIDTH, names: tuple[str, str] = ("w", "f")
) -> VariantRequest:
    """A VariantRequest from raw query or body values; raises InvalidVariant naming the field.
    A format without a width converts the full-size image."""
    return VariantRequest(parse_width(width, names[0], limit), parse_format(fmt, names[1]))


def snap(width: int, ladder: tuple[int, ...], original_width: int | None = None) -> int:
    """The first ladder step >= `width` (the largest step past the top), never wider than the
    original's ladder step when its width is known: the original is not upscaled."""
    steps = sorted(ladder)
    index = bisect.bisect_left(steps, width)
    step = steps[min(index, len(steps) - 1)]
    if original_width:
        step = min(step, steps[min(bisect.bisect_left(steps, original_width), len(steps) - 1)])
    return step


def negotiate(fmt: str, accept: str, source_type: str, supported: frozenset[str]) -> str:
    """The concrete format for `fmt`: `auto` is AVIF, then WebP (when the client accepts them
    and this server can encode them), else the source's own format."""
    if fmt != "auto":
        return fmt
    # Named explicitly with a quality above 0: `*/*` and `image/*` promise nothing about AVIF.
    accepted = {value.lower() for value, quality in parse_accept_header(accept, MIMEAccept) if quality > 0}
    for candidate in ("avif", "webp"):
        if candidate in supported and CONTENT_TYPES[candidate] in accepted:
            return candidate
    return _SOURCE_FORMATS.get(source_type, "original")


def concrete(
    request: VariantRequest,
    ladder: tuple[int, ...],
    accept: str,
    source_type: str,
    supported: frozenset[str],
    original_width: int | None = None,
) -> Variant:
    """The variant served for `request`: width snapped, format negotiated."""
    if request.original:
        return ORIGINAL
    width = snap(request.width, ladder, original_width) if request.width else None
    fmt = negotiate(request.format, accept, source_type, supported)
    if fmt != "original" and fmt == _SOURCE_FORMATS.get(source_type) and width is None:
        fmt = "original"  # converting a file to its own format at full size changes nothing
    return Variant(width, fmt)


def cos_rule(variant: Variant) -> str:
    """The 数据万象 (Cloud Infinite) imageMogr2 rule for a variant, or "" for the original.
    `thumbnail/<w>x` scales to that width keeping the aspect ratio."""
    parts = []
    if variant.width:
        parts.append(f"thumbnail/{variant.width}x")
    if variant.format != "original":
        parts.append(f"format/{'jpg' if variant.format == 'jpeg' else variant.format}")
    return "imageMogr2/" + "/".join(parts) if parts else ""
