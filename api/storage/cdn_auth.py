"""Tencent CDN URL authentication (鉴权) TypeA and TypeD, as pure functions.

With a CDN domain in front of a private bucket, the browser gets `https://<cdn>/<key>?<auth>`
and the CDN itself pulls from the bucket (origin-pull authentication, 回源鉴权), so no COS
signature reaches the browser. Formulas, from Tencent's CDN docs (product 228, 35222 / 35225):

- TypeA: `sign=timestamp-rand-uid-md5hash`, md5hash = md5("/path-timestamp-rand-uid-key"), uid 0.
- TypeD: `sign=md5hash&t=timestamp`, md5hash = md5(key + "/path" + timestamp); the timestamp is
  decimal or (a console choice) hexadecimal without `0x`.

The timestamp is the signing window's start, and rand is derived from the key, path and
timestamp, so one object's URL is byte-identical in every process for a whole window. The path
hashed is the path exactly as sent (percent-encoded): the CDN hashes the URL it receives, and
Tencent's docs allow no raw non-ASCII in it. Written by hand: no maintained library signs these.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Literal

from .cos_signer import url_path as _cos_url_path

AuthType = Literal["typea", "typed"]
UID = "0"  # Tencent: "user ID, not in use, set it to 0"
RAND_LENGTH = 16  # Tencent allows 0-100 letters and digits


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def typea_value(path: str, timestamp: int, rand: str, key: str) -> str:
    """TypeA's `sign` value: `timestamp-rand-uid-md5hash`."""
    return f"{timestamp}-{rand}-{UID}-{_md5(f'{path}-{timestamp}-{rand}-{UID}-{key}')}"


def typed_hash(key: str, path: str, stamp: str) -> str:
    """TypeD's `sign` value; `stamp` is the timestamp as the URL carries it (decimal or hex)."""
    return _md5(key + path + stamp)


@dataclass(frozen=True)
class CdnAuth:
    """One CDN domain's authentication settings; signing always uses the primary key."""

    type: AuthType
    key: str = field(repr=False)
    sign_param: str = "sign"
    time_param: str = "t"  # TypeD only
    hex_timestamp: bool = False  # TypeD only: the console's hexadecimal timestamp format

    def rand(self, path: str, timestamp: int) -> str:
        """TypeA's rand: deterministic per (object, window) so URLs stay stable, and unguessable
        without the key (HMAC), which is all a nonce in a keyed MD5 can add."""
        message = f"rand\n{path}\n{timestamp}".encode()
        return hmac.new(self.key.encode("utf-8"), message, hashlib.sha256).hexdigest()[:RAND_LENGTH]

    def query(self, path: str, timestamp: int) -> str:
        """The query string that authenticates `path` (starting with `/`, as sent) from `timestamp`."""
        if self.type == "typea":
            return f"{self.sign_param}={typea_value(path, timestamp, self.rand(path, timestamp), self.key)}"
        stamp = format(timestamp, "x") if self.hex_timestamp else str(timestamp)
        return f"{self.sign_param}={typed_hash(self.key, path, stamp)}&{self.time_param}={stamp}"


def url_path(key: str) -> str:
    """The object's URL path, encoded as in COS URLs (non-ASCII and reserved bytes as %XX)."""
    return "/" + _cos_url_path(key)


def signed_url(auth: CdnAuth, *, scheme: str, host: str, key: str, timestamp: int) -> str:
    path = url_path(key)
    return f"{scheme}://{host}{path}?{auth.query(path, timestamp)}"
