"""Hostile-input guards, run before any view so one policy holds on every route.

- The path and query must be UTF-8 once percent-decoded. werkzeug decodes them with
  replacement, so `%ff` and `%fe` would both become U+FFFD and name one key: checked on the raw
  bytes instead, before anything reaches storage (400 invalid_encoding).
- A body may not exceed MAX_CONTENT_LENGTH (413, before it is read).
- A JSON body must be strict JSON: UTF-8, finite numbers, integers of sane length, nesting at
  most MAX_JSON_DEPTH. Python's json accepts NaN/Infinity (and echoes them back as bare `NaN`,
  which is not JSON) and overflows the stack on deep nesting; no library bounds either, so the
  few checks are written here. The body is parsed again by webargs: that costs well under a
  millisecond for the largest batch and keeps the policy for every route in one place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from urllib.parse import unquote_to_bytes

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..vocabulary import ErrorCode
from .errors import ApiError

MAX_JSON_DEPTH = 32
MAX_JSON_INT_DIGITS = 64
RAW_URI_KEYS = ("RAW_URI", "REQUEST_URI")  # gunicorn; werkzeug's server and test client set both


def _utf8(raw: str) -> bool:
    """True when a WSGI string (bytes carried as latin-1), percent-decoded, is UTF-8."""
    if raw.isascii() and "%" not in raw:
        return True  # the hot path: plain ASCII keys need no decoding
    try:
        unquote_to_bytes(raw.encode("latin-1")).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return True


def check_encoding(environ: Mapping[str, object]) -> None:
    """Raise 400 invalid_encoding unless the request's path and query are UTF-8. PATH_INFO is
    already decoded by the server; the raw URI still has the escapes the client sent."""
    candidates = [environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")]
    candidates += [environ[name] for name in RAW_URI_KEYS if name in environ]
    for raw in candidates:
        if isinstance(raw, str) and not _utf8(raw):
            raise ApiError(400, ErrorCode.INVALID_ENCODING, "The URL is not valid UTF-8 once percent-decoded.")


class _Rejected(ValueError):
    pass


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Rejected(f"JSON numbers must be finite, got {text[:20]}")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise _Rejected(f"JSON integers may have at most {MAX_JSON_INT_DIGITS} digits")
    return int(text)


def _no_constant(name: str) -> object:
    raise _Rejected(f"JSON numbers must be finite, got {name}")


def _depth(value: object) -> int:
    """Nesting depth of parsed JSON, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def strict_json(body: bytes) -> object:
    """Parse `body` as strict JSON; raise ApiError 400 naming what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, ErrorCode.INVALID_ENCODING, "The JSON body is not valid UTF-8.") from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except _Rejected as error:
        raise ApiError(400, ErrorCode.VALIDATION_ERROR, str(error)) from None
    except RecursionError:
        value = None
        deep = True
    except ValueError as error:  # JSONDecodeError, and int/float conversion limits
        raise ApiError(400, ErrorCode.VALIDATION_ERROR, f"The body is not valid JSON: {error}") from None
    else:
        deep = _depth(value) > MAX_JSON_DEPTH
    if deep:
        raise ApiError(400, ErrorCode.VALIDATION_ERROR, f"JSON may nest at most {MAX_JSON_DEPTH} levels.")
    return value


def check_body() -> None:
    """413 for bodies over MAX_CONTENT_LENGTH; 400 for JSON bodies that are not strict JSON."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge(f"The body may be at most {limit} bytes.")
    if request.is_json:
        body = request.get_data(cache=True)
        # A streamed (chunked) body is cut at the limit without a word from werkzeug; one more
        # byte from the server's stream tells a full body from a longer one.
        streamed = limit is not None and request.content_length is None and len(body) >= limit
        if streamed and request.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge(f"The body may be at most {limit} bytes.")
        if body:
            strict_json(body)


def init_app(app: Flask) -> None:
    @app.before_request
    def _guard():
        check_encoding(request.environ)
        check_body()
