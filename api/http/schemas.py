"""Request and response schemas, named by role; server-set fields are dump-only."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from marshmallow import fields, validate

from ..storage.variants import FORMATS, MAX_REQUEST_WIDTH
from ..vocabulary import ErrorCode, HealthStatus

_WIDTH_DOC = "Variant width in pixels; snaps up to the next VARIANT_WIDTHS step. Absent: the original."
_FORMAT_DOC = "Variant format; `auto` picks AVIF, then WebP, from Accept. Absent: the original's."


def _width() -> fields.Integer:
    return fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=MAX_REQUEST_WIDTH),
        metadata={"description": _WIDTH_DOC},
    )


def _meta_fields() -> tuple[fields.Integer, fields.Integer, fields.String]:
    """Layout metadata of an image: width, height, placeholder (null when not a readable image)."""
    return (
        fields.Integer(dump_only=True, allow_none=True, metadata={"description": "Displayed width, px"}),
        fields.Integer(dump_only=True, allow_none=True, metadata={"description": "Displayed height, px"}),
        fields.String(
            dump_only=True, allow_none=True, metadata={"description": "ThumbHash of the image, base64 (no padding)"}
        ),
    )


def _format() -> fields.String:
    return fields.String(load_default=None, validate=validate.OneOf(FORMATS), metadata={"description": _FORMAT_DOC})


class _Schema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # accept fields added by newer clients


class ResolvedUrlSchema(_Schema):
    # `required` lists the fields every client has always had; the variant and layout fields
    # are always sent too, but stay optional in the schema until every client reads them.
    key = fields.String(dump_only=True, required=True)
    url = fields.String(dump_only=True, required=True, metadata={"description": "Signed URL, valid until `expires_at`"})
    expires_at = fields.Integer(
        dump_only=True, required=True, metadata={"description": "Epoch seconds the URL stops working"}
    )
    refresh_at = fields.Integer(
        dump_only=True, required=True, metadata={"description": "Epoch seconds a newer URL is issued"}
    )
    etag = fields.String(dump_only=True, required=True)
    content_type = fields.String(dump_only=True, required=True)
    size = fields.Integer(dump_only=True, required=True)
    variant = fields.String(
        dump_only=True, metadata={"description": "The variant `url` serves (`w320.webp`), or `original`"}
    )
    width, height, placeholder = _meta_fields()


class ResolveQueryArgsSchema(_Schema):
    refresh = fields.Boolean(load_default=False, metadata={"description": "Revalidate with storage first"})
    w = _width()
    f = _format()


class ResolveBatchArgsSchema(_Schema):
    keys = fields.List(fields.Raw(), required=True, metadata={"description": "Object keys (max MAX_BATCH_KEYS)"})
    refresh = fields.Boolean(load_default=False)
    width = _width()
    format = _format()

    @ma.validates("keys")
    def _cap(self, keys: list, **_: object) -> None:
        cap = current_app.config["MAX_BATCH_KEYS"]
        if not keys:
            raise ma.ValidationError("Give at least one key.")
        if len(keys) > cap:
            raise ma.ValidationError(f"At most {cap} keys per request, got {len(keys)}.")


class KeyErrorSchema(_Schema):
    key = fields.Raw(dump_only=True, metadata={"description": "The key as it was sent: any JSON value"})
    code = fields.Enum(ErrorCode, by_value=True, dump_only=True)
    message = fields.String(dump_only=True)


class ResolveBatchSchema(_Schema):
    items = fields.List(fields.Nested(ResolvedUrlSchema), dump_only=True)
    errors = fields.List(fields.Nested(KeyErrorSchema), dump_only=True)


class ImageSchema(_Schema):
    key = fields.String(dump_only=True, required=True)
    size = fields.Integer(dump_only=True, required=True)
    etag = fields.String(dump_only=True, required=True)
    content_type = fields.String(dump_only=True, required=True)
    last_modified = fields.Float(dump_only=True, required=True, metadata={"description": "Epoch seconds"})
    url = fields.String(dump_only=True, metadata={"description": "Signed URL of the variant asked for (`width`)"})
    expires_at = fields.Integer(dump_only=True, metadata={"description": "With `url`: when it stops working"})
    refresh_at = fields.Integer(dump_only=True, metadata={"description": "With `url`: when a newer one is issued"})
    variant = fields.String(dump_only=True, metadata={"description": "With `url`: the variant it serves"})
    width, height, placeholder = _meta_fields()


class ImageListArgsSchema(_Schema):
    prefix = fields.String(load_default="", validate=validate.Length(max=850))
    cursor = fields.String(load_default=None, validate=validate.Length(max=1024))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    width = _width()
    format = _format()


class ImageListSchema(_Schema):
    items = fields.List(fields.Nested(ImageSchema), dump_only=True)
    next_cursor = fields.String(dump_only=True, allow_none=True)


class HealthSchema(_Schema):
    status = fields.Enum(HealthStatus, by_value=True, dump_only=True)
    checks = fields.Dict(keys=fields.String(), values=fields.String(), dump_only=True)
