"""Redis replies narrowed to what this product's clients return: bytes, read as UTF-8 text.

redis-py types a reply as `bytes | str` (and a sorted-set range as a union with scored pairs)
because `decode_responses` is chosen at run time. No client here sets it, so a reply is bytes;
these say so in one place instead of at every call site.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # redis-py names its reply types from 8.0 on
    from redis.typing import ZSetRangeResponse


def text(raw: bytes | str, errors: str = "strict") -> str:
    """One reply (a member, a field, a value) as text."""
    return raw if isinstance(raw, str) else raw.decode("utf-8", errors)


def members(reply: ZSetRangeResponse) -> list[str]:
    """The members of a sorted-set range read without scores (ZRANGE, ZRANGEBYSCORE)."""
    # Without WITHSCORES the reply is a flat list; redis-py's type cannot tell the two apart.
    return [text(member) for member in cast("list[bytes | str]", reply)]
