"""Cache flush (admin): drop shared-cache entries so the next lookup asks storage again.

With Redis unreachable a flush cannot have happened, so it answers 503 `redis_unavailable`
(the RedisError handler) rather than `{"flushed": 0}`."""

from __future__ import annotations

from flask_smorest import Blueprint

from ..keys import validate_prefix
from . import auth, context
from .schemas_admin import CacheFlushArgsSchema, CacheFlushedSchema

bp = auth.protect(
    Blueprint("admin_cache", __name__, url_prefix="/api/v1/cache", description="Cache flush (admin token required)")
)


@bp.route("", methods=["DELETE"])
@bp.arguments(CacheFlushArgsSchema, location="query", error_status_code=400)
@bp.response(200, CacheFlushedSchema)
@bp.doc(security=auth.SECURITY)
def flush(args: dict):
    """Flush every entry, or those under `prefix`. Other processes drop them from memory when
    the invalidation broadcast reaches them; one that misses it keeps an entry at most
    L1_TTL_SECONDS longer."""
    prefix = validate_prefix(args["prefix"])
    return {"flushed": context.url_cache().invalidate(prefix=prefix or None)}


@bp.route("/<key:key>", methods=["DELETE"])
@bp.response(200, CacheFlushedSchema)
@bp.doc(security=auth.SECURITY)
def flush_key(key: str):
    """Flush one key."""
    return {"flushed": context.url_cache().invalidate(key=context.valid_key(key))}
