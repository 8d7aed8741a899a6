"""The shared tier: Flask-Caching's RedisCache with compact JSON values.

JSON keeps cached data inert: a value read back from Redis can never run code.
"""

from __future__ import annotations

from typing import Any

import redis
from cachelib.serializers import JSONSerializer
from flask_caching.backends.rediscache import RedisCache


class CompactJSONSerializer(JSONSerializer):
    """JSON without spaces: entries are small and many, so every byte counts in Redis."""

    def dumps(self, value: Any, *args: Any, **kwargs: Any) -> bytes:
        serialized = super().dumps(value, separators=(",", ":"), ensure_ascii=False)
        if serialized is None:  # cachelib logged why; Redis cannot store None, as redis-py says
            raise redis.DataError(f"cannot store a {type(value).__name__} as JSON")
        return serialized

    def loads(self, bvalue: str | bytes | bytearray | None, *args: Any, **kwargs: Any) -> Any:
        return None if bvalue is None else super().loads(bvalue, *args, **kwargs)  # MGET misses


class JsonRedisCache(RedisCache):
    # cachelib types this attribute as its pickle-based RedisSerializer, though any serializer
    # with dumps/loads works; this one keeps Redis values JSON.
    serializer = CompactJSONSerializer()  # type: ignore[assignment]
