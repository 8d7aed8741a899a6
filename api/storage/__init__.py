"""Storage adapters behind one interface; `build_storage` picks one from the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..clock import Clock, system_clock
from .base import (
    AccessDenied,
    Capability,
    ListPage,
    ObjectInfo,
    ObjectNotFound,
    ObjectStream,
    RangeNotSatisfiable,
    SignatureExpired,
    SignatureInvalid,
    SigningKey,
    Storage,
    StorageError,
    StorageUnavailable,
    UnprocessableImage,
    UnsupportedImage,
)

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = [
    "AccessDenied",
    "Capability",
    "ListPage",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStream",
    "RangeNotSatisfiable",
    "SignatureExpired",
    "SignatureInvalid",
    "SigningKey",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "UnprocessableImage",
    "UnsupportedImage",
    "build_storage",
]


def _local(settings: Settings, clock: Clock) -> Storage:
    from .local import LocalStorage
    from .local_variants import VariantRenderer

    renderer = VariantRenderer(
        settings.variants_dir,
        settings.variant_cache_max_bytes,
        settings.variant_render_workers,
        settings.variant_max_pixels,
    )
    return LocalStorage(
        root=settings.images_dir,
        secret=settings.signing_secret,
        base_url=settings.public_base_url,
        renderer=renderer,
        retries=settings.storage_retries,
        backoff=settings.storage_backoff_seconds,
    )


def _cos(settings: Settings, clock: Clock) -> Storage:
    from .cos import CosStorage

    return CosStorage.from_settings(settings, clock)


BACKENDS = {"local": _local, "cos": _cos}


def build_storage(settings: Settings, clock: Clock = system_clock) -> Storage:
    """The configured store; `clock` is what temporary credentials are checked against."""
    return BACKENDS[settings.storage_backend](settings, clock)
