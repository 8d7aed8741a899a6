"""Resolve keys to signed URLs, one at a time or in batches."""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from ..keys import InvalidKey
from . import context, rate_limit, variant_args
from .schemas import ResolveBatchArgsSchema, ResolveBatchSchema, ResolvedUrlSchema, ResolveQueryArgsSchema

bp = Blueprint("urls", __name__, url_prefix="/api/v1/urls", description="Resolve object keys to signed URLs")


@bp.route("/<key:key>")
@bp.arguments(ResolveQueryArgsSchema, location="query", error_status_code=400)
@bp.response(200, ResolvedUrlSchema)
def resolve_one(args: dict, key: str):
    """Signed URL of one key, with at least URL_MIN_REMAINING_SECONDS of validity left."""
    cache = context.url_cache()
    asked = variant_args.want(args["w"], args["f"])
    resolved = cache.resolve(
        context.valid_key(key), refresh=args["refresh"], admit=rate_limit.miss_budget(), want=asked
    )
    max_age = max(0, int(resolved.refresh_at - cache.clock()))
    headers = {"Cache-Control": f"private, max-age={max_age}"}
    if asked is not None and asked[0].negotiated:
        headers["Vary"] = "Accept"
    return resolved.to_dict(), 200, headers


@bp.route("")
class Batch(MethodView):
    @bp.arguments(ResolveBatchArgsSchema, error_status_code=400)
    @bp.response(200, ResolveBatchSchema)
    def post(self, args: dict):
        """Signed URLs of many keys in one round trip; a bad key fails alone, listed in `errors`."""
        errors, valid = [], []
        for key in args["keys"]:
            try:
                valid.append(context.valid_key(key))
            except InvalidKey as error:
                errors.append({"key": key, "code": error.code, "message": error.message})
        asked = variant_args.want(args["width"], args["format"], ("width", "format"))
        found, failed = context.url_cache().resolve_many(
            valid, refresh=args["refresh"], admit=rate_limit.miss_budget(), want=asked
        )
        errors += [{"key": key, "code": error.code, "message": error.message} for key, error in failed.items()]
        items = [found[k].to_dict() for k in dict.fromkeys(valid) if k in found]
        # Already in the documented shape: a Response skips a second schema pass over 500 items.
        return jsonify(items=items, errors=errors)
