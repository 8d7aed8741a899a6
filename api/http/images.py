"""The gallery listing; it also seeds the cache so a first view needs no HEAD per image."""

from __future__ import annotations

from flask_smorest import Blueprint

from ..keys import validate_prefix
from . import context
from .schemas import ImageListArgsSchema, ImageListSchema

bp = Blueprint("images", __name__, url_prefix="/api/v1/images", description="List stored images")


@bp.route("")
@bp.arguments(ImageListArgsSchema, location="query", error_status_code=400)
@bp.response(200, ImageListSchema)
def list_images(args: dict):
    """One page of images under `prefix`, continuing after `cursor`."""
    prefix = validate_prefix(args["prefix"])
    page = context.storage().list(prefix, args["cursor"], args["limit"])
    allowed = context.settings().allowed_key_prefixes
    items = [i for i in page.items if not allowed or i.key.startswith(allowed)]
    context.url_cache().seed(items)
    return {"items": [i.to_dict() for i in items], "next_cursor": page.next_cursor}
