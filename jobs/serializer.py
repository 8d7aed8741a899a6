"""Huey's message serializer as tagged JSON: nothing read back from Redis can run code.

Huey's default serializer rebuilds arbitrary Python objects from the queue, so anyone able to
write to Redis could run code in every worker. Our messages only carry Huey's own records
(Message, Error, ChordConfig), dates, tuples and plain data, and JSON with a few type tags holds
all of them; anything else is refused when it is enqueued, not when it is run.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from huey.registry import Message
from huey.serializer import Serializer
from huey.utils import ChordConfig, Error

RECORDS = {"message": Message, "error": Error, "chord": ChordConfig}
TAG = "~"  # key of a tagged value: {"~": kind, "v": payload}


def _encode(value: Any) -> Any:
    for kind, record in RECORDS.items():
        if isinstance(value, record):
            return {TAG: kind, "v": [_encode(field) for field in value]}
    if isinstance(value, dt.datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [_encode(item) for item in value]}
    if isinstance(value, (set, frozenset)):
        return {TAG: "set", "v": [_encode(item) for item in value]}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("job data: dict keys must be strings")
        return {k: _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"job data must be JSON-like, got {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    kind = value.get(TAG)
    if kind is None:
        return {k: _decode(v) for k, v in value.items()}
    payload = value["v"]
    if kind in RECORDS:
        return RECORDS[kind](*[_decode(field) for field in payload])
    if kind == "datetime":
        return dt.datetime.fromisoformat(payload)
    if kind == "tuple":
        return tuple(_decode(item) for item in payload)
    if kind == "set":
        return {_decode(item) for item in payload}
    raise ValueError(f"unknown tag {kind!r} in a job message")


class JsonSerializer(Serializer):
    def _serialize(self, data: Any) -> bytes:
        return json.dumps(_encode(data), separators=(",", ":")).encode("utf-8")

    def _deserialize(self, data: bytes) -> Any:
        return _decode(json.loads(data))
