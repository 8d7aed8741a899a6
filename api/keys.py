"""Object key validation (invariant 7): a rejected key never reaches storage."""
from __future__ import annotations

import re
from urllib.parse import unquote

MAX_KEY_BYTES = 850
# Unicode categories Cc (C0, DEL, C1) and Cs (surrogates), as one scan instead of a lookup per
# character: this runs on every request of the redirect hot path.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class InvalidKey(ValueError):
    """The key cannot name an object; `code` is machine-readable, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _has_dot_segment(text: str) -> bool:
    return any(part in {".", ".."} for part in text.replace("\\", "/").split("/"))


def validate_key(key: object, allowed_prefixes: tuple[str, ...] = ()) -> str:
    """Return `key` when it may name an object, else raise InvalidKey."""
    if not isinstance(key, str):
        raise InvalidKey("invalid_key", "key must be a string")
    if not key:
        raise InvalidKey("empty_key", "key must not be empty")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidKey("invalid_encoding", "key must be valid UTF-8") from None
    if size > MAX_KEY_BYTES:
        raise InvalidKey("key_too_long", f"key is {size} bytes, the limit is {MAX_KEY_BYTES}")
    once = unquote(key)
    forms = (key,) if once == key else (key, once, unquote(once))  # no escapes: nothing to decode
    for form in forms:
        if _CONTROL.search(form):
            raise InvalidKey("control_character", "key must not contain control characters")
        if form.startswith(("/", "\\")):
            raise InvalidKey("absolute_key", "key must not start with '/'")
        if _has_dot_segment(form):
            raise InvalidKey("path_traversal", "key must not contain '.' or '..' segments")
    if allowed_prefixes and not key.startswith(allowed_prefixes):
        raise InvalidKey("prefix_not_allowed", "key is outside the allowed prefixes")
    return key
