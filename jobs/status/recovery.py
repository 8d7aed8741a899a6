"""Recovery and upkeep of task records, run by the cleanup job.

A task whose worker died while running it (Huey has no acks) is marked `lost` and put back on
the queue from the serialized message its record kept; tasks are idempotent, so the re-run
converges. Old history is forgotten by age and by size.
"""

from __future__ import annotations

import logging
from typing import Any

from api.redis_keys import HISTORY_KEY, PERIODIC_HISTORY_KEY, RUNNING_KEY, task_errors_key, task_key
from api.redis_replies import members
from api.vocabulary import TaskStatus

from ..queue import huey
from . import records
from .records import Record
from .store import PERIODIC_HISTORY_MAX, Change, TaskStore

log = logging.getLogger(__name__)
LOST = "lost: its worker stopped while running it"
INTERRUPTED = "interrupted: its worker stopped; re-enqueued"


def requeue_lost(store: TaskStore) -> list[str]:
    """Mark lost tasks `lost` and put them back on the queue from their recorded message."""
    alive, now = store.alive_workers(), store.clock()
    requeued = []
    for task_id in members(store.conn.zrange(RUNNING_KEY, 0, -1)):
        raw = store.conn.hgetall(task_key(task_id))
        if not raw:
            store.conn.zrem(RUNNING_KEY, task_id)
            continue
        record = records.decode(raw)
        if record.get("status") != TaskStatus.RUNNING or not store.is_lost(record, alive, now):
            continue
        message = raw.get(b"message")
        marked = store.update(task_id, _mark_lost(record.get("owner"), message is not None, now), running="remove")
        if marked and message is not None and _requeue(task_id, message):
            requeued.append(task_id)
    return requeued


def release_worker(store: TaskStore, worker: str) -> list[str]:
    """A consumer is shutting down and none of its worker threads runs a task any more: every
    task still recorded as running on it (SIGNAL_INTERRUPTED did not fire, or its write was
    lost) is put back on the queue now, instead of reading `running` until it is stale."""
    requeued = []
    for task_id in store.running_on(worker):
        raw = store.conn.hgetall(task_key(task_id))
        record = records.decode(raw)
        if record.get("status") != TaskStatus.RUNNING or record.get("worker") != worker:
            continue
        message = raw.get(b"message")
        owner = record.get("owner")
        change = _mark_interrupted(owner) if message is not None else _mark_lost(owner, False, store.clock())
        if store.update(task_id, change, running="remove") and message is not None and _requeue(task_id, message):
            requeued.append(task_id)
    return requeued


def _mark_interrupted(owner: str | None) -> Change:
    def change(current: Record) -> dict[str, Any] | None:
        if current.get("status") != TaskStatus.RUNNING or current.get("owner") != owner:
            return None
        return {"status": TaskStatus.QUEUED, "owner": None, "message": None, "error": INTERRUPTED,
                "requeued": records.count(current.get("requeued")) + 1}  # fmt: skip

    return change


def _mark_lost(owner: str | None, has_message: bool, now: float) -> Change:
    def change(current: Record) -> dict[str, Any] | None:
        if current.get("status") != TaskStatus.RUNNING or current.get("owner") != owner:
            return None  # it moved on meanwhile
        fields: dict[str, Any] = {"status": TaskStatus.LOST, "owner": None, "message": None, "error": LOST,
                                  "requeued": records.count(current.get("requeued")) + (1 if has_message else 0)}  # fmt: skip
        if not has_message:
            fields["finished_at"] = now
            fields["error"] = f"{LOST}; it could not be re-enqueued"
        return fields

    return change


def _requeue(task_id: str, message: bytes | str) -> bool:
    try:
        task = huey.deserialize_task(message)
    except Exception:
        log.exception("lost task %s cannot be re-enqueued", task_id)
        return False
    log.warning("task %s (%s) was lost with its worker; re-enqueued", task_id, task.name)
    huey.enqueue(task)
    return True


def trim_history(store: TaskStore) -> int:
    """Forget history older than TASK_HISTORY_SECONDS and beyond the size caps."""
    conn, settings = store.conn, store.settings
    cutoff = store.clock() - settings.task_history_seconds
    doomed: list[str] = []
    for key, cap in ((HISTORY_KEY, settings.task_history_max), (PERIODIC_HISTORY_KEY, PERIODIC_HISTORY_MAX)):
        old = conn.zrangebyscore(key, "-inf", f"({cutoff}")
        size = conn.zcard(key) - len(old)
        excess = conn.zrange(key, len(old), len(old) + size - cap - 1) if size > cap else []
        ids = members(old) + members(excess)
        if ids:
            pipe = conn.pipeline(transaction=False)
            pipe.zrem(key, *ids)
            for task_id in ids:
                pipe.delete(task_key(task_id), task_errors_key(task_id))
            pipe.execute()
            doomed += ids
    return len(doomed)
