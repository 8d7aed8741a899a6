"""The expiry index and access set, split into hash-tagged parts on a Redis Cluster.

One sorted set would live on one shard, which would then hold every key's expiry time and take
every sweep. On a cluster each set is split into PARTS parts whose names carry a hash tag
(`iuc:index:{p3}`), so the parts spread over the shards; a key always lands in the same part of
both sets (crc32 of the key), so a sweep reads part by part and still costs O(due keys).
Elsewhere (standalone, Sentinel) there is one part with the plain names.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from ..redis_keys import ACCESS_KEY, INDEX_KEY
from ..redis_topology import is_cluster

PARTS = 16  # enough for the parts to reach every shard of a small cluster


def part_count(client: object) -> int:
    return PARTS if is_cluster(client) else 1


def index_name(part: int, parts: int) -> str:
    return INDEX_KEY if parts == 1 else f"{INDEX_KEY}:{{p{part}}}"


def access_name(part: int, parts: int) -> str:
    return ACCESS_KEY if parts == 1 else f"{ACCESS_KEY}:{{p{part}}}"


def part_of(key: str, parts: int) -> int:
    return 0 if parts == 1 else zlib.crc32(key.encode("utf-8")) % parts


def split(keys: Iterable[str], parts: int) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for key in keys:
        out.setdefault(part_of(key, parts), []).append(key)
    return out
