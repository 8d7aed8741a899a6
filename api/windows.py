"""Deterministic signing windows (invariants 1 and 2).

A key's URLs roll over once per window. Each key gets a phase offset inside the window so that
rollovers of many keys spread out instead of landing on the same second. A URL signed in a window
is valid from the window's start until `window end + min_remaining`, so whatever moment of the
window it is handed out, it still has at least `min_remaining` seconds left. Every process
computes the same window for the same key and time, hence byte-identical URLs.

A temporary signing key cuts the window short: a URL never outlives the key that signed it
(`not_after`), and it rolls over `min_remaining` before that, when a newer key is due.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class SigningWindow:
    start: int  # signature valid from here
    end: int  # rollover: a new URL is signed from here on
    expires: int  # signature valid until here (end + min_remaining, or the key's expiry)

    def max_age(self, now: float) -> int:
        """Seconds a client may reuse what was issued in this window (never past `end`)."""
        return max(0, int(self.end - now))


def key_phase(key: str, window: int) -> int:
    """Stable per-key offset in [0, window): the same in every process and run."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % window


def window_for(key: str, now: float, window: int, min_remaining: int, not_after: float | None = None) -> SigningWindow:
    phase = key_phase(key, window)
    start = int(now) - (int(now) - phase) % window
    end, expires = start + window, start + window + min_remaining
    if not_after is not None and not_after < expires:
        expires = int(not_after)
        end = min(end, expires - min_remaining)
        if end <= now:  # the key has less than min_remaining left: renew halfway through what is left
            end = min(expires, int(now) + max(1, (expires - int(now)) // 2))
    return SigningWindow(start=start, end=end, expires=expires)
