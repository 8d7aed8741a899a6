"""Signed URLs of the local backend land here, checked like nginx's secure_link."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from .. import context
from ..errors import ApiError
from ..storage.local import SignatureExpired, SignatureInvalid
from .streaming import stream_object

bp = Blueprint("objects", __name__, description="Local storage signed URLs")


@bp.route("/objects/<key:key>")
def signed_object(key: str):
    """The object's bytes for a genuine, unexpired signature: 403 tampered, 410 expired."""
    key = context.valid_key(key)
    storage = context.storage()
    now = context.url_cache().clock()
    try:
        storage.verify(key, request.args.get("exp"), request.args.get("sig"), now)
    except SignatureInvalid as error:
        raise ApiError(403, "signature_invalid", f"signed URL rejected: {error}") from None
    except SignatureExpired:
        raise ApiError(410, "signature_expired", "signed URL has expired; resolve the key again") from None
    max_age = max(0, int(request.args["exp"]) - int(now))
    return stream_object(request, storage, key, f"public, max-age={max_age}, immutable")
