"""Signed URLs of a store that serves its own (SELF_SERVED_URLS) land here, checked like
nginx's secure_link: a tampered signature is 403, an expired one 410. A URL naming a variant
(`w`, `f`) has the variant inside its signature, and gets the rendered variant."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from ..storage import Capability, ObjectNotFound, SignatureInvalid
from ..storage.variants import FORMATS, InvalidVariant, Variant, parse_width
from . import context
from .streaming import stream_object

bp = Blueprint("objects", __name__, description="Signed URLs served by the app itself")


def _variant(key: str) -> Variant | None:
    """The variant the URL names (as `sign_variant` writes it), or None for the original."""
    width, fmt = request.args.get("w"), request.args.get("f")
    if width is None and fmt is None:
        return None
    malformed = SignatureInvalid(key, message="signed URL rejected: malformed variant")
    try:
        parsed = None if width == "0" else parse_width(width)
    except InvalidVariant:
        raise malformed from None
    if fmt not in FORMATS or fmt == "auto" or Capability.VARIANT_BYTES not in context.storage().capabilities:
        raise malformed
    return Variant(parsed, fmt)


@bp.route("/objects/<key:key>")
def signed_object(key: str):
    """The object's (or the variant's) bytes for a genuine, unexpired signature."""
    key = context.valid_key(key)
    storage = context.storage()
    now = context.url_cache().clock()
    expires = request.args.get("exp")
    variant = _variant(key)
    storage.verify_url(key, expires, request.args.get("sig"), now, variant)  # SignatureInvalid / SignatureExpired
    max_age = max(0, int(expires or 0) - int(now))
    try:
        return stream_object(request, storage, key, f"public, max-age={max_age}, immutable", variant=variant)
    except ObjectNotFound:
        context.url_cache().record_missing(key)  # the next resolve says 404, not a URL to nothing
        raise
