"""Task records in the queue's Redis: written from Huey's signals, read by the API and UI.

Each execution gets an owner token. Progress and final states are only written by the current
owner, so an execution that was presumed lost (or interrupted and re-enqueued) can never
overwrite the newer one's counts. Batch progress lives in `progress.TaskProgress`.
"""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis
from huey.api import Task

from api.clock import Clock
from api.redis_keys import HISTORY_KEY, PERIODIC_HISTORY_KEY, RUNNING_KEY, task_errors_key, task_key
from api.redis_replies import members, text
from api.settings import Settings
from api.vocabulary import FINISHED_STATUSES, TaskStatus

from .. import heartbeat
from ..queue import huey
from . import records
from .progress import TaskProgress, owner_of
from .records import PERIODIC_TASKS, PROGRESS_TASKS, Record

if TYPE_CHECKING:
    from redis.typing import EncodableT, FieldT

PERIODIC_HISTORY_MAX = 200
Change = Callable[[Record], "dict[str, Any] | None"]


class TaskStore:
    def __init__(self, conn: redis.Redis, settings: Settings, clock: Clock) -> None:
        self.conn = conn
        self.settings = settings
        self.clock = clock
        self.progress = TaskProgress(conn, settings, clock)

    # -- writing ---------------------------------------------------------------------------
    def update(self, task_id: str, change: Change, *, running: str | None = None, history: str | None = None) -> bool:
        """Read the record, let `change` decide, write atomically (WATCH). `change` returns the
        fields to set (None values are deleted) or None to leave the record alone. `running`
        ("add"/"remove") keeps the running set in step; `history` (a task name) lists a new
        record in its history."""
        key = task_key(task_id)
        ttl = self.settings.task_history_seconds
        now = self.clock()

        def txn(pipe: redis.client.Pipeline) -> bool:
            values = pipe.hmget(key, records.FIELDS)
            current = {f: text(v, "replace") for f, v in zip(records.FIELDS, values) if v is not None}
            updates = change(current)
            if updates is None:
                return False
            pipe.multi()
            sets: dict[FieldT, EncodableT] = {k: records.encode(v) for k, v in updates.items() if v is not None}
            dels = [k for k, v in updates.items() if v is None]
            if sets:
                pipe.hset(key, mapping=sets)
            if dels:
                pipe.hdel(key, *dels)
            pipe.expire(key, ttl)
            if running == "add":
                pipe.zadd(RUNNING_KEY, {task_id: now})
            elif running == "remove":
                pipe.zrem(RUNNING_KEY, task_id)
            if history is not None and not current:
                listing = PERIODIC_HISTORY_KEY if history in PERIODIC_TASKS else HISTORY_KEY
                pipe.zadd(listing, {task_id: now}, nx=True)
            return True

        # redis-py types `txn` as returning None; with value_from_callable its value is the result.
        return bool(self.conn.transaction(txn, key, value_from_callable=True))  # type: ignore[arg-type]

    def _first_fields(self, task: Task, now: float) -> dict[str, Any]:
        return records.new_fields(task.name, task.args, task.kwargs, now)

    def _owned(self, task: Task, current: Record) -> bool:
        return bool(current) and current.get("owner") == owner_of(task)

    def enqueued(self, task: Task) -> None:
        now = self.clock()

        def change(current: Record) -> dict[str, Any] | None:
            if not current:
                return {**self._first_fields(task, now), "status": TaskStatus.QUEUED}
            if current.get("status") == TaskStatus.RETRYING:
                return None  # a retry going back to the queue: still "retrying" until it runs
            return {"status": TaskStatus.QUEUED, "owner": None, "worker": None}

        self.update(task.id, change, running="remove", history=task.name)

    def executing(self, task: Task, worker: str) -> None:
        now = self.clock()
        token = uuid.uuid4().hex
        task._iuc_owner = token
        message = huey.serialize_task(task)

        def change(current: Record) -> dict[str, Any]:
            fields = {} if current else self._first_fields(task, now)
            fields.update(status=TaskStatus.RUNNING, started_at=now, beat_at=now, worker=worker, owner=token,
                          message=message, finished_at=None, revoke_requested=None)  # fmt: skip
            return fields

        self.update(task.id, change, running="add", history=task.name)

    def finish(self, task: Task, status: TaskStatus, *, result: Any = None, error: str | None = None) -> bool:
        """A final state, written only by the execution that owns the task."""
        now = self.clock()

        def change(current: Record) -> dict[str, Any] | None:
            if not self._owned(task, current):
                return None
            fields: dict[str, Any] = {"status": status, "finished_at": now, "owner": None, "message": None}
            if result is not None:
                fields["result"] = json.dumps(result, default=str)
            # A run that ends without an error clears the one an earlier run left (interrupted,
            # retried): a succeeded task must not read as if it had failed.
            fields["error"] = error
            if task.name in PROGRESS_TASKS and "total" not in current:
                fields["total"] = records.count(current.get("done")) + records.count(current.get("failed"))
            return fields

        return self.update(task.id, change, running="remove")

    def note_error(self, task: Task, error: str) -> None:
        self.update(task.id, lambda current: {"error": error} if self._owned(task, current) else None)

    def retrying(self, task: Task) -> None:
        def change(current: Record) -> dict[str, Any] | None:
            if not self._owned(task, current):
                return None
            return {"status": TaskStatus.RETRYING, "retries": records.count(current.get("retries")) + 1,
                    "owner": None, "message": None}  # fmt: skip

        self.update(task.id, change, running="remove")

    def dropped(self, task: Task, reason: str | None = None) -> None:
        """A queued task that will not run: revoked before it started, or expired."""
        now = self.clock()

        def change(current: Record) -> dict[str, Any]:
            fields = {} if current else self._first_fields(task, now)
            fields.update(status=TaskStatus.REVOKED, finished_at=now, owner=None, message=None)
            if reason:
                fields["error"] = reason
            return fields

        self.update(task.id, change, running="remove", history=task.name)

    def release_for_requeue(self, task: Task, reason: str) -> bool:
        """The owner stops (interrupted): forget it so the re-enqueued copy starts cleanly."""

        def change(current: Record) -> dict[str, Any] | None:
            if not self._owned(task, current):
                return None
            return {"status": TaskStatus.QUEUED, "owner": None, "message": None, "error": reason,
                    "requeued": records.count(current.get("requeued")) + 1}  # fmt: skip

        return self.update(task.id, change, running="remove")

    def running_on(self, worker: str) -> list[str]:
        """Ids of tasks recorded as running on `worker`."""
        ids = members(self.conn.zrange(RUNNING_KEY, 0, -1))
        if not ids:
            return []
        pipe = self.conn.pipeline(transaction=False)
        for task_id in ids:
            pipe.hmget(task_key(task_id), ["status", "worker"])
        rows = pipe.execute()
        return [i for i, (status, w) in zip(ids, rows) if status == b"running" and w == worker.encode()]

    def forget(self, task_id: str) -> None:
        """Drop a record whose task never reached the queue (the enqueue failed)."""
        pipe = self.conn.pipeline(transaction=False)
        pipe.delete(task_key(task_id), task_errors_key(task_id))
        for key in (HISTORY_KEY, PERIODIC_HISTORY_KEY, RUNNING_KEY):
            pipe.zrem(key, task_id)
        pipe.execute()

    # -- reading ---------------------------------------------------------------------------
    def alive_workers(self) -> set[str]:
        return {w["id"] for w in heartbeat.alive_workers(self.conn)}

    def is_lost(self, record: Record, alive: set[str], now: float) -> bool:
        return records.is_lost(record, alive, now, self.settings.task_stale_seconds)

    def _view(self, task_id: str, record: Record, alive: set[str], now: float) -> dict[str, Any]:
        lost = record.get("status") == TaskStatus.RUNNING and self.is_lost(record, alive, now)
        return records.view(task_id, record, lost)

    def get(self, task_id: str) -> dict[str, Any] | None:
        raw = self.conn.hgetall(task_key(task_id))
        if not raw:
            return None
        return self._view(task_id, records.decode(raw), self.alive_workers(), self.clock())

    def list(self, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Most recent first; `status` filters on the reported status (so `lost` works)."""
        alive, now = self.alive_workers(), self.clock()
        items: list[dict[str, Any]] = []
        page = max(limit, 50)
        start = 0
        scanned_cap = self.settings.task_history_max + PERIODIC_HISTORY_MAX
        while len(items) < limit and start < scanned_cap:
            ids = self._recent_ids(start, page)
            if not ids:
                break
            pipe = self.conn.pipeline(transaction=False)
            for task_id in ids:
                pipe.hgetall(task_key(task_id))
            for task_id, raw in zip(ids, pipe.execute()):
                if not raw:
                    continue
                shown = self._view(task_id, records.decode(raw), alive, now)
                if status is None or shown["status"] == status:
                    items.append(shown)
                    if len(items) >= limit:
                        break
            start += page
        return items

    def _recent_ids(self, start: int, page: int) -> builtins.list[str]:  # `list` here is the method above
        """Ids `start`..`start+page` of admin and periodic history merged, newest first."""
        pipe = self.conn.pipeline(transaction=False)
        pipe.zrevrange(HISTORY_KEY, 0, start + page - 1, withscores=True)
        pipe.zrevrange(PERIODIC_HISTORY_KEY, 0, start + page - 1, withscores=True)
        user, periodic = pipe.execute()
        merged = sorted(user + periodic, key=lambda pair: pair[1], reverse=True)[start : start + page]
        return [member.decode() for member, _ in merged]

    # -- admin -----------------------------------------------------------------------------
    def revoke(self, task_id: str) -> tuple[dict[str, Any] | None, str]:
        """Revoke a task: `revoked` if it had not started, `revoking` if running (it stops at its
        next step), `finished` if too late, `unknown` if there is no such task."""
        shown = self.get(task_id)
        if shown is None:
            return None, "unknown"
        if shown["status"] in FINISHED_STATUSES:
            return shown, "finished"
        huey.revoke_by_id(task_id, revoke_once=True)
        now = self.clock()
        running = shown["status"] == TaskStatus.RUNNING

        def change(current: Record) -> dict[str, Any] | None:
            status = current.get("status")
            if status in FINISHED_STATUSES:
                return None
            if status == TaskStatus.RUNNING and shown["status"] != TaskStatus.LOST:
                return {"revoke_requested": 1}
            return {"status": TaskStatus.REVOKED, "finished_at": now, "owner": None, "message": None,
                    "error": "revoked by an admin"}  # fmt: skip

        self.update(task_id, change, running=None if running else "remove")
        return self.get(task_id), "revoking" if running else "revoked"
