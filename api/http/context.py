"""The current app's services, for views (they stay free of wiring)."""

from __future__ import annotations

from flask import current_app

from ..cache.url_cache import UrlCache
from ..keys import validate_key
from ..services import Services
from ..settings import Settings
from ..storage import Storage


def services() -> Services:
    return current_app.extensions["services"]


def url_cache() -> UrlCache:
    return current_app.extensions["url_cache"]


def storage() -> Storage:
    return current_app.extensions["storage"]


def settings() -> Settings:
    return current_app.extensions["settings"]


def valid_key(key: object) -> str:
    """Validate a key against the app's prefix allow-list (raises InvalidKey -> 400)."""
    return validate_key(key, settings().allowed_key_prefixes, storage().max_segment_bytes)
