"""The gallery listing; it also seeds the cache so a first view needs no HEAD per image."""

from __future__ import annotations

from flask_smorest import Blueprint

from ..keys import validate_prefix
from . import context, variant_args
from .schemas import ImageListArgsSchema, ImageListSchema

bp = Blueprint("images", __name__, url_prefix="/api/v1/images", description="List stored images")


@bp.route("")
@bp.arguments(ImageListArgsSchema, location="query", error_status_code=400)
@bp.response(200, ImageListSchema)
def list_images(args: dict):
    """One page of images under `prefix`, continuing after `cursor`; with `width` (and
    `format`), each item also carries its signed URL for that variant, so a first paint needs
    no second request."""
    asked = variant_args.want(args["width"], args["format"], ("width", "format"))
    return list_page(args["prefix"], args["cursor"], args["limit"], asked)


def list_page(prefix: str, cursor: str | None, limit: int, asked: variant_args.Want = None) -> dict:
    """A listing page as the API sends it (also embedded in index.html)."""
    prefix = validate_prefix(prefix)
    page = context.storage().list(prefix, cursor, limit)
    allowed = context.settings().allowed_key_prefixes
    items = [i for i in page.items if not allowed or i.key.startswith(allowed)]
    cache = context.url_cache()
    entries = cache.seed(items)
    out = []
    for info in items:
        item = info.to_dict()
        meta = entries[info.key].meta
        meta = meta if meta is not None and meta.known else None
        item.update(
            width=meta.width if meta else None,
            height=meta.height if meta else None,
            placeholder=meta.placeholder if meta else None,
        )
        out.append(item)
    if asked is not None:
        found, _ = cache.resolve_many([i.key for i in items], want=asked)  # L1 hits: just seeded
        for item in out:
            resolved = found.get(item["key"])
            if resolved is not None:
                item.update(
                    url=resolved.url,
                    expires_at=resolved.expires_at,
                    refresh_at=resolved.refresh_at,
                    variant=resolved.variant,
                )
    return {"items": out, "next_cursor": page.next_cursor}
