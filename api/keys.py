"""Object key validation (invariant 7): a rejected key never reaches storage."""

from __future__ import annotations

import re
from urllib.parse import unquote

from .vocabulary import ErrorCode

MAX_KEY_BYTES = 850
# Unicode categories Cc (C0, DEL, C1) and Cs (surrogates), as one scan instead of a lookup per
# character: this runs on every request of the redirect hot path.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class InvalidKey(ValueError):
    """The key cannot name an object; `code` is machine-readable, the message says why."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _has_dot_segment(text: str) -> bool:
    return any(part in {".", ".."} for part in text.replace("\\", "/").split("/"))


def validate_key(key: object, allowed_prefixes: tuple[str, ...] = (), max_segment_bytes: int | None = None) -> str:
    """Return `key` when it may name an object, else raise InvalidKey. `max_segment_bytes` is
    the store's limit on one path segment (a filesystem's NAME_MAX): a longer one can never
    exist there, so it is a bad key rather than a storage call."""
    if not isinstance(key, str):
        raise InvalidKey(ErrorCode.INVALID_KEY, "key must be a string")
    if not key:
        raise InvalidKey(ErrorCode.EMPTY_KEY, "key must not be empty")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidKey(ErrorCode.INVALID_ENCODING, "key must be valid UTF-8") from None
    if size > MAX_KEY_BYTES:
        raise InvalidKey(ErrorCode.KEY_TOO_LONG, f"key is {size} bytes, the limit is {MAX_KEY_BYTES}")
    if max_segment_bytes is not None and size > max_segment_bytes:
        longest = max(len(part.encode("utf-8")) for part in key.split("/"))
        if longest > max_segment_bytes:
            raise InvalidKey(
                ErrorCode.KEY_TOO_LONG,
                f"a path segment of the key is {longest} bytes, the store holds at most {max_segment_bytes}",
            )
    once = unquote(key)
    forms = (key,) if once == key else (key, once, unquote(once))  # no escapes: nothing to decode
    for form in forms:
        if _CONTROL.search(form):
            raise InvalidKey(ErrorCode.CONTROL_CHARACTER, "key must not contain control characters")
        if form.startswith(("/", "\\")):
            raise InvalidKey(ErrorCode.ABSOLUTE_KEY, "key must not start with '/'")
        if _has_dot_segment(form):
            raise InvalidKey(ErrorCode.PATH_TRAVERSAL, "key must not contain '.' or '..' segments")
    if allowed_prefixes and not key.startswith(allowed_prefixes):
        raise InvalidKey(ErrorCode.PREFIX_NOT_ALLOWED, "key is outside the allowed prefixes")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing, warm or flush prefix: empty (everything) or held to the rules of keys, so it
    cannot climb out of the store either. The allow-list applies to the keys it yields."""
    return validate_key(prefix) if prefix else prefix
