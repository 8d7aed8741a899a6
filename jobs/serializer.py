"""Huey's message serializer, with unpickling limited to the types our messages contain.

Huey stores task messages and results with pickle. A plain `pickle.loads` of whatever sits in
Redis would let anyone who can write to Redis run code in every worker; this unpickler only
rebuilds Huey's own message and error types, dates, and plain data (str, numbers, lists, dicts).
"""
from __future__ import annotations

import io
import pickle

from huey.serializer import Serializer

ALLOWED = {
    ("huey.registry", "Message"),
    ("huey.utils", "Error"),
    ("huey.utils", "ChordConfig"),
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name} from the job queue")


class RestrictedSerializer(Serializer):
    def _deserialize(self, data: bytes):
        return _RestrictedUnpickler(io.BytesIO(data)).load()
