"""Streaming an object to the client: Range (206), conditional GET (304), safe headers."""

from __future__ import annotations

from flask import Request, Response

from ..storage import ObjectStream, RangeNotSatisfiable, Storage
from ..storage.variants import Variant
from ..vocabulary import ErrorCode
from .errors import error_response


def _requested_range(request: Request, etag: str | None) -> tuple[int, int | None] | None:
    """The single byte range asked for, honouring If-Range; None means the whole object."""
    ranges = request.range
    if ranges is None or len(ranges.ranges) != 1 or ranges.units != "bytes":
        return None
    if_range = request.if_range
    if (if_range.etag or if_range.date) and (if_range.date or if_range.etag != (etag or "").strip('"')):
        return None  # the client's copy may be of another version: send it all
    first, stop = ranges.ranges[0]
    if first < 0:  # suffix range "-N": needs the size, resolved by the adapter as open-ended
        return (first, None)
    return (first, None if stop is None else stop - 1)


def _not_modified(request: Request, etag: str) -> bool:
    return bool(etag) and request.if_none_match.contains_weak(etag.strip('"'))


def stream_object(
    request: Request,
    storage: Storage,
    key: str,
    cache_control: str,
    known_etag: str | None = None,
    variant: Variant | None = None,
) -> Response:
    """Answer a GET for `key` (or a `variant` of it) from storage. `known_etag` (from the
    cache) lets a conditional request be answered 304 without touching storage."""
    if known_etag and _not_modified(request, known_etag):
        return _conditional(known_etag, cache_control)

    def opened(byte_range: tuple[int, int | None] | None) -> ObjectStream:
        if variant is None:
            return storage.open(key, byte_range)
        return storage.open_variant(key, variant, byte_range)

    def size_of() -> int:
        if variant is None:
            return storage.head(key).size
        whole = opened(None)
        whole.close()
        return whole.length

    byte_range = _requested_range(request, known_etag)
    if byte_range is not None and byte_range[0] < 0:
        byte_range = (max(0, size_of() + byte_range[0]), None)
    try:
        stream = opened(byte_range)
    except RangeNotSatisfiable:
        size = size_of()
        return error_response(
            416,
            ErrorCode.RANGE_NOT_SATISFIABLE,
            "requested range not satisfiable",
            headers={"Content-Range": f"bytes */{size}"},
        )
    info = stream.info
    if _not_modified(request, info.etag):
        stream.close()
        return _conditional(info.etag, cache_control)
    response = Response(
        stream.chunks,
        status=206 if stream.byte_range else 200,
        mimetype=None,
        content_type=info.content_type,
        direct_passthrough=True,
    )
    response.call_on_close(stream.close)
    headers = response.headers
    headers["Content-Length"] = str(stream.length)
    headers["Accept-Ranges"] = "bytes"
    headers["ETag"] = _quoted(info.etag)
    headers["Cache-Control"] = cache_control
    headers["X-Content-Type-Options"] = "nosniff"
    if stream.byte_range:
        first, last = stream.byte_range
        headers["Content-Range"] = f"bytes {first}-{last}/{info.size}"
    return response


def _quoted(etag: str) -> str:
    return etag if etag.startswith(('"', 'W/"')) else f'"{etag}"'


def _conditional(etag: str, cache_control: str) -> Response:
    response = Response(status=304)
    response.headers["ETag"] = _quoted(etag)
    response.headers["Cache-Control"] = cache_control
    return response
