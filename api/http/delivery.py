"""Stable image URLs for <img src>: `/i/<key>` redirects to the signed URL, `/p/<key>` streams.

These are the hot paths: no schema work, one cache lookup, small responses.
"""

from __future__ import annotations

import logging

from flask import Response, request
from flask_smorest import Blueprint

from ..cache.budget import StorageBudgetExceeded
from ..storage import Capability, ObjectNotFound, StorageError
from ..storage.base import guess_content_type
from ..storage.variants import Variant, concrete
from . import context, rate_limit, variant_args
from .streaming import stream_object

log = logging.getLogger(__name__)
bp = Blueprint("delivery", __name__, description="Redirect and proxy delivery of images")
PROXY_MAX_AGE = 300
VERSIONED_MAX_AGE = 365 * 24 * 3600


@bp.route("/i/<key:key>")
def redirect_to_image(key: str):
    """302 to the key's signed URL (of the variant `w`/`f` name), cached privately until the
    URL's window rolls over."""
    key = context.valid_key(key)
    asked = variant_args.from_query()
    return variant_args.vary(_redirect(key, asked), asked)


def _redirect(key: str, asked: variant_args.Want) -> Response:
    cache = context.url_cache()
    try:
        resolved = cache.resolve(key, admit=rate_limit.miss_budget(), want=asked)
    except (StorageError, StorageBudgetExceeded):
        raise
    except Exception:  # signing trouble: the bytes can still flow (invariant 5)
        log.warning("redirect for %r failed, serving through the proxy", key, exc_info=True)
        return _proxy(key, None, asked)
    if not context.storage().owns_url(resolved.url):
        log.error("refusing to redirect %r off the configured store", key)
        return _proxy(key, resolved.etag, asked)
    max_age = max(0, int(resolved.refresh_at - cache.clock()))
    return Response(
        status=302,
        headers={"Location": resolved.url, "Cache-Control": f"private, max-age={max_age}"},
    )


@bp.route("/p/<key:key>")
def proxy_image(key: str):
    """The image bytes through the app (Range, ETag); for clients that cannot use signed URLs.
    With `w`/`f`, the variant's bytes when the store renders variants itself (else the original)."""
    key = context.valid_key(key)
    asked = variant_args.from_query()
    try:
        etag = context.url_cache().resolve(key, admit=rate_limit.miss_budget()).etag
    except (StorageError, StorageBudgetExceeded):
        raise
    except Exception:
        log.warning("metadata for %r unavailable, streaming without it", key, exc_info=True)
        etag = None
    return variant_args.vary(_proxy(key, etag, asked), asked)


def _proxied_variant(key: str, asked: variant_args.Want) -> Variant | None:
    storage = context.storage()
    if asked is None or Capability.VARIANT_BYTES not in storage.capabilities:
        return None
    wanted, accept = asked
    source_type = guess_content_type(key)  # `auto` falls back to the source's own format
    variant = concrete(wanted, context.settings().variant_widths, accept, source_type, storage.variant_formats)
    return None if variant.original else variant


def _proxy(key: str, etag: str | None, asked: variant_args.Want = None) -> Response:
    variant = _proxied_variant(key, asked)
    versioned = request.args.get("v")
    if etag and versioned and versioned.strip('"') == etag.strip('"'):
        cache_control = f"public, max-age={VERSIONED_MAX_AGE}, immutable"
    else:
        cache_control = f"public, max-age={PROXY_MAX_AGE}"
    try:
        if variant is not None:  # the variant has its own etag: the object's cannot answer 304
            return stream_object(request, context.storage(), key, cache_control, None, variant)
        return stream_object(request, context.storage(), key, cache_control, etag)
    except ObjectNotFound:
        context.url_cache().record_missing(key)  # deleted since it was cached: say so from now on
        raise
