"""Stable image URLs for <img src>: `/i/<key>` redirects to the signed URL, `/p/<key>` streams.

These are the hot paths: no schema work, one cache lookup, small responses.
"""

from __future__ import annotations

import logging

from flask import Response, request
from flask_smorest import Blueprint

from ..cache.budget import StorageBudgetExceeded
from ..storage import ObjectNotFound, StorageError
from . import context, rate_limit
from .streaming import stream_object

log = logging.getLogger(__name__)
bp = Blueprint("delivery", __name__, description="Redirect and proxy delivery of images")
PROXY_MAX_AGE = 300
VERSIONED_MAX_AGE = 365 * 24 * 3600


@bp.route("/i/<key:key>")
def redirect_to_image(key: str):
    """302 to the key's signed URL, cached privately until the URL's window rolls over."""
    key = context.valid_key(key)
    cache = context.url_cache()
    try:
        resolved = cache.resolve(key, admit=rate_limit.miss_budget())
    except (StorageError, StorageBudgetExceeded):
        raise
    except Exception:  # signing trouble: the bytes can still flow (invariant 5)
        log.warning("redirect for %r failed, serving through the proxy", key, exc_info=True)
        return _proxy(key, None)
    if not context.storage().owns_url(resolved.url):
        log.error("refusing to redirect %r off the configured store", key)
        return _proxy(key, resolved.etag)
    max_age = max(0, int(resolved.refresh_at - cache.clock()))
    return Response(
        status=302,
        headers={"Location": resolved.url, "Cache-Control": f"private, max-age={max_age}"},
    )


@bp.route("/p/<key:key>")
def proxy_image(key: str):
    """The image bytes through the app (Range, ETag); for clients that cannot use signed URLs."""
    key = context.valid_key(key)
    try:
        etag = context.url_cache().resolve(key, admit=rate_limit.miss_budget()).etag
    except (StorageError, StorageBudgetExceeded):
        raise
    except Exception:
        log.warning("metadata for %r unavailable, streaming without it", key, exc_info=True)
        etag = None
    return _proxy(key, etag)


def _proxy(key: str, etag: str | None) -> Response:
    versioned = request.args.get("v")
    if etag and versioned and versioned.strip('"') == etag.strip('"'):
        cache_control = f"public, max-age={VERSIONED_MAX_AGE}, immutable"
    else:
        cache_control = f"public, max-age={PROXY_MAX_AGE}"
    try:
        return stream_object(request, context.storage(), key, cache_control, etag)
    except ObjectNotFound:
        context.url_cache().record_missing(key)  # deleted since it was cached: say so from now on
        raise
