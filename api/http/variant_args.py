"""The variant a request asks for (`w`, `f`, or `width`/`format` in bodies and listings)."""

from __future__ import annotations

from flask import Response, request

from ..storage.variants import MAX_REQUEST_WIDTH, VariantRequest, parse_request

Want = tuple[VariantRequest, str] | None


def want(width: object, fmt: object, names: tuple[str, str] = ("w", "f")) -> Want:
    """(request, Accept) for the cache, or None for the original; raises InvalidVariant (400)."""
    asked = parse_request(width, fmt, MAX_REQUEST_WIDTH, names)
    if asked.original:
        return None
    return asked, request.headers.get("Accept", "")


def from_query() -> Want:
    if not request.query_string:  # the redirect hot path: no MultiDict, no KeyError per absent name
        return None
    return want(request.args.get("w"), request.args.get("f"))


def vary(response: Response, asked: Want) -> Response:
    """A negotiated answer depends on Accept: caches must know (`Vary: Accept`)."""
    if asked is not None and asked[0].negotiated:
        response.vary.add("Accept")
    return response
