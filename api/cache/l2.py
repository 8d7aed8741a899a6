"""The shared tier: Flask-Caching's RedisCache with compact JSON values.

JSON keeps cached data inert: a value read back from Redis can never run code.
"""

from __future__ import annotations

from typing import Any

from cachelib.serializers import JSONSerializer
from flask_caching.backends.rediscache import RedisCache


class CompactJSONSerializer(JSONSerializer):
    """JSON without spaces: entries are small and many, so every byte counts in Redis."""

    def dumps(self, value: Any, *args: Any, **kwargs: Any) -> bytes | None:
        return super().dumps(value, separators=(",", ":"), ensure_ascii=False)

    def loads(self, value: bytes | None, *args: Any, **kwargs: Any) -> Any:
        return None if value is None else super().loads(value, *args, **kwargs)  # MGET misses


class JsonRedisCache(RedisCache):
    serializer = CompactJSONSerializer()
