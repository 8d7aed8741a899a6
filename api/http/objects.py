"""Signed URLs of a store that serves its own (SELF_SERVED_URLS) land here, checked like
nginx's secure_link: a tampered signature is 403, an expired one 410."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from ..storage import ObjectNotFound
from . import context
from .streaming import stream_object

bp = Blueprint("objects", __name__, description="Signed URLs served by the app itself")


@bp.route("/objects/<key:key>")
def signed_object(key: str):
    """The object's bytes for a genuine, unexpired signature."""
    key = context.valid_key(key)
    storage = context.storage()
    now = context.url_cache().clock()
    expires = request.args.get("exp")
    storage.verify_url(key, expires, request.args.get("sig"), now)  # SignatureInvalid / SignatureExpired
    max_age = max(0, int(expires or 0) - int(now))
    try:
        return stream_object(request, storage, key, f"public, max-age={max_age}, immutable")
    except ObjectNotFound:
        context.url_cache().record_missing(key)  # the next resolve says 404, not a URL to nothing
        raise
