"""A task's record: the fields kept in its Redis hash, and the view the API and UI read.

Huey keeps no acks: a task popped by a worker that is then killed is simply gone. So when a task
starts, its record keeps the serialized task (`message`) and the worker's id; when it ends, both
are dropped. A task still `running` past TASK_STALE_SECONDS without progress, whose worker no
longer sends heartbeats, reads `lost` (see recovery); a worker that shuts down hands back what it
still holds at once (`recovery.release_worker`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from api.redis_replies import text
from api.vocabulary import TaskStatus

PERIODIC_TASKS = frozenset({"pre_refresh", "cleanup"})
PROGRESS_TASKS = frozenset({"batch_refresh", "warm"})

FIELDS = (
    "name", "status", "enqueued_at", "started_at", "finished_at", "beat_at", "retries", "requeued",
    "error", "result", "worker", "owner", "offset", "cursor", "done", "failed", "total", "revoke_requested",
)  # fmt: skip
Record = dict[str, str]


def decode(raw: Mapping[bytes | str, bytes | str]) -> Record:
    """A record as read with HGETALL (the serialized `message` left out)."""
    return {text(k): text(v, "replace") for k, v in raw.items() if k != b"message"}


def encode(value: Any) -> bytes | str:
    if isinstance(value, (bytes, str)):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def number(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


def count(value: str | None) -> int:
    return int(value) if value not in (None, "") else 0


def new_fields(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], now: float) -> dict[str, Any]:
    """The first fields of a task's record; progress tasks start their counts at zero."""
    fields: dict[str, Any] = {"name": name, "enqueued_at": now, "retries": 0, "requeued": 0}
    if name in PROGRESS_TASKS:
        fields.update(done=0, failed=0, offset=0)
        if name == "batch_refresh":
            fields["total"] = len(args[0] if args else kwargs.get("keys", []))
    return fields


def is_lost(record: Record, alive: set[str], now: float, stale_seconds: float) -> bool:
    """Running, no progress for `stale_seconds`, and its worker's heartbeat has expired."""
    beat = number(record.get("beat_at")) or number(record.get("started_at")) or 0.0
    return record.get("worker") not in alive and now - beat > stale_seconds


def view(task_id: str, record: Record, lost: bool) -> dict[str, Any]:
    """What the API and the admin console show of a task."""
    status = TaskStatus(record.get("status", TaskStatus.QUEUED))
    if status == TaskStatus.RUNNING and lost:
        status = TaskStatus.LOST
    progress = None
    if record.get("name") in PROGRESS_TASKS:
        total = record.get("total")
        progress = {"done": count(record.get("done")), "failed": count(record.get("failed")),
                    "total": int(total) if total else None}  # fmt: skip
    result = record.get("result")
    return {
        "task_id": task_id,
        "name": record.get("name"),
        "status": status,
        "progress": progress,
        "enqueued_at": number(record.get("enqueued_at")),
        "started_at": number(record.get("started_at")),
        "finished_at": number(record.get("finished_at")),
        "result": json.loads(result) if result else None,
        "error": record.get("error") or None,
        "retries": count(record.get("retries")),
        "requeued": count(record.get("requeued")),
        "worker": record.get("worker") or None,
    }
