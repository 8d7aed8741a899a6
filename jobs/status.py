"""Task status and history, recorded from Huey's signals, and the rules for lost tasks.

Huey keeps no acks: a task popped by a worker that is then killed is simply gone. So when a task
starts, its record keeps the serialized task (`message`) and the worker's id; when it ends, both
are dropped. A task still `running` past TASK_STALE_SECONDS without progress, whose worker no
longer sends heartbeats, is reported `lost`, and the cleanup job re-enqueues it from `message`.

Each execution gets an owner token. Progress and final states are only written by the current
owner, so an execution that was presumed lost (or interrupted and re-enqueued) can never
overwrite the newer one's counts. Progress is committed per chunk with its resume point, which
makes a re-run continue where the last commit left off and keeps the counts exact.

Redis layout (the queue's db): `iuc:task:<id>` hash per task (expires after
TASK_HISTORY_SECONDS), `iuc:task:<id>:errors` per-key errors of a batch, `iuc:tasks` and
`iuc:tasks:periodic` (id -> enqueued time) for listing, `iuc:tasks:running` (id -> start).
"""
from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Callable

import redis
from huey import signals as S
from huey.utils import normalize_time

from api.clock import Clock
from api.settings import Settings

from . import heartbeat
from .app_context import active_app
from .queue import huey

log = logging.getLogger(__name__)

STATUSES = ("queued", "running", "retrying", "succeeded", "failed", "lost", "revoked")
FINISHED = frozenset({"succeeded", "failed", "revoked"})
PERIODIC_TASKS = frozenset({"pre_refresh", "cleanup"})
PROGRESS_TASKS = frozenset({"batch_refresh", "warm"})

TASK_PREFIX = "iuc:task:"
HISTORY_KEY = "iuc:tasks"
PERIODIC_HISTORY_KEY = "iuc:tasks:periodic"
RUNNING_KEY = "iuc:tasks:running"
PERIODIC_HISTORY_MAX = 200
MAX_REPORTED_ERRORS = 100
INTERRUPTED_REQUEUE_DELAY = 1.0  # seconds; see _on_interrupted

_FIELDS = (
    "name", "status", "enqueued_at", "started_at", "finished_at", "beat_at", "retries", "requeued",
    "error", "result", "worker", "owner", "offset", "cursor", "done", "failed", "total", "revoke_requested",
)  # fmt: skip


class Superseded(Exception):
    """This execution lost ownership of its task (it was presumed lost and re-enqueued)."""


def _decode(raw: dict) -> dict[str, str]:
    return {k.decode(): v.decode("utf-8", "replace") for k, v in raw.items() if k != b"message"}


def _encode(value: Any) -> bytes | str:
    if isinstance(value, (bytes, str)):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _num(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


def _int(value: str | None) -> int:
    return int(value) if value not in (None, "") else 0


def _total_of(name: str, args: tuple, kwargs: dict) -> int | None:
    if name == "batch_refresh":
        keys = args[0] if args else kwargs.get("keys", [])
        return len(keys)
    return None


class TaskStore:
    """Reads and writes task records in the queue's Redis."""

    def __init__(self, conn: redis.Redis, settings: Settings, clock: Clock) -> None:
        self.conn = conn
        self.settings = settings
        self.clock = clock

    # -- writing ---------------------------------------------------------------------------
    def _update(
        self,
        task_id: str,
        change: Callable[[dict[str, str]], dict[str, Any] | None],
        *,
        running: str | None = None,
        history: bool = False,
        periodic: bool = False,
    ) -> bool:
        """Read the record, let `change` decide, write atomically (WATCH). `change` returns the
        fields to set (None values are deleted) or None to leave the record alone."""
        key = TASK_PREFIX + task_id
        ttl = self.settings.task_history_seconds
        now = self.clock()

        def txn(pipe: redis.client.Pipeline) -> bool:
            values = pipe.hmget(key, _FIELDS)
            current = {f: v.decode("utf-8", "replace") for f, v in zip(_FIELDS, values) if v is not None}
            updates = change(current)
            if updates is None:
                return False
            pipe.multi()
            sets = {k: _encode(v) for k, v in updates.items() if v is not None}
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
            if history and not current:
                pipe.zadd(PERIODIC_HISTORY_KEY if periodic else HISTORY_KEY, {task_id: now}, nx=True)
            return True

        return self.conn.transaction(txn, key, value_from_callable=True)

    def _new_fields(self, task, now: float) -> dict[str, Any]:
        fields: dict[str, Any] = {"name": task.name, "enqueued_at": now, "retries": 0, "requeued": 0}
        if task.name in PROGRESS_TASKS:
            fields.update(done=0, failed=0, offset=0)
            total = _total_of(task.name, task.args, task.kwargs)
            if total is not None:
                fields["total"] = total
        return fields

    def enqueued(self, task) -> None:
        now = self.clock()

        def change(current: dict) -> dict | None:
            if not current:
                return {**self._new_fields(task, now), "status": "queued"}
            if current.get("status") == "retrying":
                return None  # a retry going back to the queue: still "retrying" until it runs
            return {"status": "queued", "owner": None, "worker": None}

        self._update(task.id, change, running="remove", history=True, periodic=task.name in PERIODIC_TASKS)

    def executing(self, task, worker: str) -> None:
        now = self.clock()
        token = uuid.uuid4().hex
        task._iuc_owner = token
        message = huey.serialize_task(task)

        def change(current: dict) -> dict:
            fields = {} if current else self._new_fields(task, now)
            fields.update(status="running", started_at=now, beat_at=now, worker=worker, owner=token, message=message)
            fields.update(finished_at=None, revoke_requested=None)
            return fields

        self._update(task.id, change, running="add", history=True, periodic=task.name in PERIODIC_TASKS)

    def _owned(self, task, current: dict) -> bool:
        return bool(current) and current.get("owner") == getattr(task, "_iuc_owner", None)

    def finish(self, task, status: str, *, result: Any = None, error: str | None = None) -> bool:
        """A final state, written only by the execution that owns the task."""
        now = self.clock()

        def change(current: dict) -> dict | None:
            if not self._owned(task, current):
                return None
            fields: dict[str, Any] = {"status": status, "finished_at": now, "owner": None, "message": None}
            if result is not None:
                fields["result"] = json.dumps(result, default=str)
            if error is not None:
                fields["error"] = error
            if task.name in PROGRESS_TASKS and "total" not in current:
                fields["total"] = _int(current.get("done")) + _int(current.get("failed"))
            return fields

        return self._update(task.id, change, running="remove")

    def note_error(self, task, error: str) -> None:
        self._update(task.id, lambda current: {"error": error} if self._owned(task, current) else None)

    def retrying(self, task) -> None:
        def change(current: dict) -> dict | None:
            if not self._owned(task, current):
                return None
            return {"status": "retrying", "retries": _int(current.get("retries")) + 1, "owner": None, "message": None}

        self._update(task.id, change, running="remove")

    def dropped(self, task, reason: str | None = None) -> None:
        """A queued task that will not run: revoked before it started, or expired."""
        now = self.clock()

        def change(current: dict) -> dict:
            fields = {} if current else {**self._new_fields(task, now)}
            fields.update(status="revoked", finished_at=now, owner=None, message=None)
            if reason:
                fields["error"] = reason
            return fields

        self._update(task.id, change, running="remove", history=True, periodic=task.name in PERIODIC_TASKS)

    def release_for_requeue(self, task, reason: str) -> bool:
        """The owner stops (interrupted): forget it so the re-enqueued copy starts cleanly."""

        def change(current: dict) -> dict | None:
            if not self._owned(task, current):
                return None
            return {"status": "queued", "owner": None, "message": None, "error": reason,
                    "requeued": _int(current.get("requeued")) + 1}  # fmt: skip

        return self._update(task.id, change, running="remove")

    def forget(self, task_id: str) -> None:
        """Drop a record whose task never reached the queue (the enqueue failed)."""
        pipe = self.conn.pipeline(transaction=False)
        pipe.delete(TASK_PREFIX + task_id, TASK_PREFIX + task_id + ":errors")
        for key in (HISTORY_KEY, PERIODIC_HISTORY_KEY, RUNNING_KEY):
            pipe.zrem(key, task_id)
        pipe.execute()

    # -- progress --------------------------------------------------------------------------
    def progress_state(self, task_id: str) -> dict:
        offset, done, failed, cursor = self.conn.hmget(TASK_PREFIX + task_id, ["offset", "done", "failed", "cursor"])
        return {
            "offset": int(offset or 0),
            "done": int(done or 0),
            "failed": int(failed or 0),
            "cursor": cursor.decode("utf-8") if cursor else None,
        }

    def advance(
        self,
        task,
        offset: int,
        new_offset: int,
        done: int,
        failed: int,
        errors: dict[str, str] | None = None,
        cursor: str | None = None,
    ) -> None:
        """Commit one step of progress and its resume point; raises Superseded if not the owner."""
        key = TASK_PREFIX + task.id
        errors_key = key + ":errors"
        now = self.clock()
        ttl = self.settings.task_history_seconds

        def txn(pipe: redis.client.Pipeline) -> bool:
            owner, current = pipe.hmget(key, ["owner", "offset"])
            if owner is None or owner.decode() != getattr(task, "_iuc_owner", None) or int(current or 0) != offset:
                return False
            pipe.multi()
            pipe.hset(key, mapping={"offset": new_offset, "beat_at": now, **({"cursor": cursor} if cursor else {})})
            pipe.hincrby(key, "done", done)
            pipe.hincrby(key, "failed", failed)
            if errors:
                pipe.hset(errors_key, mapping=errors)
                pipe.expire(errors_key, ttl)
            return True

        if not self.conn.transaction(txn, key, value_from_callable=True):
            raise Superseded(task.id)

    def errors_sample(self, task_id: str, limit: int = MAX_REPORTED_ERRORS) -> tuple[list[dict], int]:
        key = TASK_PREFIX + task_id + ":errors"
        count = self.conn.hlen(key)
        sample = []
        for k, v in self.conn.hscan_iter(key, count=limit):
            sample.append({"key": k.decode("utf-8"), "code": v.decode("utf-8")})
            if len(sample) >= limit:
                break
        return sample, count

    # -- reading ---------------------------------------------------------------------------
    def _alive(self) -> set[str]:
        return {w["id"] for w in heartbeat.alive_workers(self.conn)}

    def _view(self, task_id: str, r: dict[str, str], alive: set[str], now: float) -> dict:
        status = r.get("status", "queued")
        if status == "running" and self.is_lost(r, alive, now):
            status = "lost"
        progress = None
        if r.get("name") in PROGRESS_TASKS:
            total = r.get("total")
            progress = {"done": _int(r.get("done")), "failed": _int(r.get("failed")), "total": int(total) if total else None}
        result = r.get("result")
        return {
            "task_id": task_id,
            "name": r.get("name"),
            "status": status,
            "progress": progress,
            "enqueued_at": _num(r.get("enqueued_at")),
            "started_at": _num(r.get("started_at")),
            "finished_at": _num(r.get("finished_at")),
            "result": json.loads(result) if result else None,
            "error": r.get("error") or None,
            "retries": _int(r.get("retries")),
            "requeued": _int(r.get("requeued")),
            "worker": r.get("worker") or None,
        }

    def is_lost(self, r: dict[str, str], alive: set[str], now: float) -> bool:
        """Running, no progress for TASK_STALE_SECONDS, and its worker's heartbeat has expired."""
        beat = _num(r.get("beat_at")) or _num(r.get("started_at")) or 0.0
        return r.get("worker") not in alive and now - beat > self.settings.task_stale_seconds

    def get(self, task_id: str) -> dict | None:
        raw = self.conn.hgetall(TASK_PREFIX + task_id)
        if not raw:
            return None
        return self._view(task_id, _decode(raw), self._alive(), self.clock())

    def list(self, status: str | None = None, limit: int = 50) -> list[dict]:
        """Most recent first; `status` filters on the reported status (so `lost` works)."""
        alive, now = self._alive(), self.clock()
        items: list[dict] = []
        page = max(limit, 50)
        start = 0
        scanned_cap = self.settings.task_history_max + PERIODIC_HISTORY_MAX
        while len(items) < limit and start < scanned_cap:
            pipe = self.conn.pipeline(transaction=False)
            pipe.zrevrange(HISTORY_KEY, 0, start + page - 1, withscores=True)
            pipe.zrevrange(PERIODIC_HISTORY_KEY, 0, start + page - 1, withscores=True)
            user, periodic = pipe.execute()
            merged = sorted(user + periodic, key=lambda pair: pair[1], reverse=True)[start : start + page]
            if not merged:
                break
            ids = [member.decode() for member, _ in merged]
            pipe = self.conn.pipeline(transaction=False)
            for task_id in ids:
                pipe.hgetall(TASK_PREFIX + task_id)
            for task_id, raw in zip(ids, pipe.execute()):
                if not raw:
                    continue
                view = self._view(task_id, _decode(raw), alive, now)
                if status is None or view["status"] == status:
                    items.append(view)
                    if len(items) >= limit:
                        break
            start += page
        return items

    # -- maintenance -----------------------------------------------------------------------
    def requeue_lost(self) -> list[str]:
        """Mark lost tasks `lost` and put them back on the queue from their recorded message."""
        alive, now = self._alive(), self.clock()
        requeued = []
        for member in self.conn.zrange(RUNNING_KEY, 0, -1):
            task_id = member.decode()
            key = TASK_PREFIX + task_id
            raw = self.conn.hgetall(key)
            if not raw:
                self.conn.zrem(RUNNING_KEY, task_id)
                continue
            record = _decode(raw)
            if record.get("status") != "running" or not self.is_lost(record, alive, now):
                continue
            message = raw.get(b"message")
            owner = record.get("owner")

            def change(current: dict, owner=owner, has_message=message is not None) -> dict | None:
                if current.get("status") != "running" or current.get("owner") != owner:
                    return None  # it moved on meanwhile
                fields: dict[str, Any] = {"status": "lost", "owner": None, "message": None,
                                          "requeued": _int(current.get("requeued")) + (1 if has_message else 0),
                                          "error": "lost: its worker stopped while running it"}  # fmt: skip
                if not has_message:
                    fields["finished_at"] = now
                    fields["error"] = "lost: its worker stopped while running it; it could not be re-enqueued"
                return fields

            if not self._update(task_id, change, running="remove"):
                continue
            if message is not None:
                try:
                    task = huey.deserialize_task(message)
                except Exception:
                    log.exception("lost task %s cannot be re-enqueued", task_id)
                    continue
                log.warning("task %s (%s) was lost with its worker; re-enqueued", task_id, task.name)
                huey.enqueue(task)
                requeued.append(task_id)
        return requeued

    def trim(self) -> int:
        """Forget history older than TASK_HISTORY_SECONDS and beyond the size caps."""
        now = self.clock()
        cutoff = now - self.settings.task_history_seconds
        doomed: list[str] = []
        for key, cap in ((HISTORY_KEY, self.settings.task_history_max), (PERIODIC_HISTORY_KEY, PERIODIC_HISTORY_MAX)):
            old = self.conn.zrangebyscore(key, "-inf", f"({cutoff}")
            size = self.conn.zcard(key) - len(old)
            excess = self.conn.zrange(key, len(old), len(old) + size - cap - 1) if size > cap else []
            ids = [m.decode() for m in old + excess]
            if ids:
                pipe = self.conn.pipeline(transaction=False)
                pipe.zrem(key, *ids)
                for task_id in ids:
                    pipe.delete(TASK_PREFIX + task_id, TASK_PREFIX + task_id + ":errors")
                pipe.execute()
                doomed += ids
        return len(doomed)

    def revoke(self, task_id: str) -> tuple[dict | None, str]:
        """Revoke a task: `revoked` if it had not started, `revoking` if running (it stops at its
        next step), `finished` if too late, `unknown` if there is no such task."""
        view = self.get(task_id)
        if view is None:
            return None, "unknown"
        if view["status"] in FINISHED:
            return view, "finished"
        huey.revoke_by_id(task_id, revoke_once=True)
        now = self.clock()

        def change(current: dict) -> dict | None:
            status = current.get("status")
            if status in FINISHED:
                return None
            if status == "running" and view["status"] != "lost":
                return {"revoke_requested": 1}
            return {"status": "revoked", "finished_at": now, "owner": None, "message": None, "error": "revoked by an admin"}

        self._update(task_id, change, running="remove" if view["status"] != "running" else None)
        return self.get(task_id), "revoking" if view["status"] == "running" else "revoked"


def store_for(app=None) -> TaskStore:
    app = app or active_app()
    store = app.extensions.get("iuc_task_store")
    if store is None or store.conn is not huey.conn:
        store = TaskStore(huey.conn, app.extensions["settings"], app.extensions["url_cache"].clock)
        app.extensions["iuc_task_store"] = store
    return store


# -- Huey signal receivers: they run wherever the signal fires (API process or worker) ----------
def _count(name: str, outcome: str) -> None:
    app = active_app()
    cache = app.extensions["url_cache"]
    cache.stats.incr(f"tasks_{outcome}")
    from api import metrics

    metrics.TASKS.labels(name, outcome).inc()
    cache.flush()


def _safe(receiver: Callable) -> Callable:
    def wrapper(signal, task, *args, **kwargs):
        try:
            receiver(task, *args, **kwargs)
        except redis.RedisError:
            log.warning("could not record %s of task %s", signal, task.id, exc_info=True)

    wrapper.__name__ = receiver.__name__
    return wrapper


@huey.signal(S.SIGNAL_ENQUEUED)
@_safe
def _on_enqueued(task) -> None:
    store_for().enqueued(task)


@huey.signal(S.SIGNAL_EXECUTING)
@_safe
def _on_executing(task) -> None:
    store_for().executing(task, heartbeat.worker_id())


@huey.signal(S.SIGNAL_COMPLETE)
@_safe
def _on_complete(task) -> None:
    result = getattr(task, "_iuc_result", None)
    if store_for().finish(task, "succeeded", result=result):
        _count(task.name, "succeeded")


def describe(error: BaseException) -> str:
    text = str(error)
    return text if getattr(error, "clear_reason", False) else f"{type(error).__name__}: {text}"


@huey.signal(S.SIGNAL_ERROR)
@_safe
def _on_error(task, error: BaseException) -> None:
    if isinstance(error, Superseded):
        return
    if task.retries:  # Huey will retry it: SIGNAL_RETRYING follows
        store_for().note_error(task, describe(error))
    elif store_for().finish(task, "failed", error=describe(error)):
        _count(task.name, "failed")


@huey.signal(S.SIGNAL_RETRYING)
@_safe
def _on_retrying(task) -> None:
    store_for().retrying(task)


@huey.signal(S.SIGNAL_CANCELED)
@_safe
def _on_canceled(task) -> None:
    if store_for().finish(task, "revoked", error="revoked by an admin while running"):
        _count(task.name, "revoked")


@huey.signal(S.SIGNAL_REVOKED)
@_safe
def _on_revoked(task) -> None:
    store_for().dropped(task)


@huey.signal(S.SIGNAL_EXPIRED)
@_safe
def _on_expired(task) -> None:
    store_for().dropped(task, "expired: no worker started it in time")


@huey.signal(S.SIGNAL_INTERRUPTED)
@_safe
def _on_interrupted(task) -> None:
    """The consumer is stopping mid-task (Huey has no acks): put the task back.

    Through the schedule, not the queue: the stopping consumer's worker threads still pop the
    queue until the process is gone and would take the task straight back into a dying process.
    Its scheduler has stopped, so another (or the restarted) consumer moves it to the queue."""
    if store_for().release_for_requeue(task, "interrupted: its worker stopped; re-enqueued"):
        log.warning("task %s (%s) interrupted; re-enqueued", task.id, task.name)
        task.eta = normalize_time(None, INTERRUPTED_REQUEUE_DELAY, huey.utc)
        huey.add_schedule(task)
