"""Accessors for the per-app services created by `create_app` (views stay free of wiring)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from .cache.url_cache import UrlCache
    from .settings import Settings
    from .storage import Storage


def url_cache() -> "UrlCache":
    return current_app.extensions["url_cache"]


def storage() -> "Storage":
    return current_app.extensions["storage"]


def settings() -> "Settings":
    return current_app.extensions["settings"]


def valid_key(key: object) -> str:
    """Validate a key against the app's prefix allow-list (raises InvalidKey -> 400)."""
    from .keys import validate_key

    return validate_key(key, settings().allowed_key_prefixes)
