"""Huey signal receivers that keep task records; they run wherever the signal fires (the
enqueuing process for `enqueued`, the worker for the rest), on `runtime.current()`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from huey import signals as S
from huey.api import Task
from huey.utils import normalize_time

from api import metrics
from api.services import Services
from api.vocabulary import TaskStatus

from .. import heartbeat, runtime
from ..queue import huey
from .progress import Superseded
from .recovery import INTERRUPTED, release_worker
from .store import TaskStore

log = logging.getLogger(__name__)
INTERRUPTED_REQUEUE_DELAY = 1.0  # seconds; see _on_interrupted


def store_for(services: Services | None = None) -> TaskStore:
    """The task store on the queue's Redis, with `services`' settings and clock (default: the
    current ones)."""
    services = services or runtime.current()
    return TaskStore(huey.conn, services.settings, services.clock)


def describe(error: BaseException) -> str:
    text = str(error)
    return text if getattr(error, "clear_reason", False) else f"{type(error).__name__}: {text}"


def _count(name: str, outcome: str) -> None:
    cache = runtime.current().cache
    cache.stats.incr(f"tasks_{outcome}")
    metrics.TASKS.labels(name, outcome).inc()
    cache.flush()


def _safe(receiver: Callable[..., None]) -> Callable[..., None]:
    def wrapper(signal: str, task: Task, *args: Any, **kwargs: Any) -> None:
        try:
            receiver(task, *args, **kwargs)
        except redis.RedisError:
            log.warning("could not record %s of task %s", signal, task.id, exc_info=True)

    wrapper.__name__ = receiver.__name__
    return wrapper


def _finish(task: Task, status: TaskStatus, **details: Any) -> None:
    if store_for().finish(task, status, **details):
        _count(task.name, status)


@huey.signal(S.SIGNAL_ENQUEUED)
@_safe
def _on_enqueued(task: Task) -> None:
    store_for().enqueued(task)


@huey.signal(S.SIGNAL_EXECUTING)
@_safe
def _on_executing(task: Task) -> None:
    store_for().executing(task, heartbeat.worker_id())


@huey.signal(S.SIGNAL_COMPLETE)
@_safe
def _on_complete(task: Task) -> None:
    _finish(task, TaskStatus.SUCCEEDED, result=getattr(task, "_iuc_result", None))


@huey.signal(S.SIGNAL_ERROR)
@_safe
def _on_error(task: Task, error: BaseException) -> None:
    if isinstance(error, Superseded):
        return
    if task.retries:  # Huey will retry it: SIGNAL_RETRYING follows
        store_for().note_error(task, describe(error))
    else:
        _finish(task, TaskStatus.FAILED, error=describe(error))


@huey.signal(S.SIGNAL_RETRYING)
@_safe
def _on_retrying(task: Task) -> None:
    store_for().retrying(task)


@huey.signal(S.SIGNAL_CANCELED)
@_safe
def _on_canceled(task: Task) -> None:
    _finish(task, TaskStatus.REVOKED, error="revoked by an admin while running")


@huey.signal(S.SIGNAL_REVOKED)
@_safe
def _on_revoked(task: Task) -> None:
    store_for().dropped(task)


@huey.signal(S.SIGNAL_EXPIRED)
@_safe
def _on_expired(task: Task) -> None:
    store_for().dropped(task, "expired: no worker started it in time")


@huey.signal(S.SIGNAL_INTERRUPTED)
@_safe
def _on_interrupted(task: Task) -> None:
    """The consumer is stopping mid-task (Huey has no acks): put the task back.

    Through the schedule, not the queue: the stopping consumer's worker threads still pop the
    queue until the process is gone and would take the task straight back into a dying process.
    Its scheduler has stopped, so another (or the restarted) consumer moves it to the queue."""
    if store_for().release_for_requeue(task, INTERRUPTED):
        log.warning("task %s (%s) interrupted; re-enqueued", task.id, task.name)
        task.eta = normalize_time(None, INTERRUPTED_REQUEUE_DELAY, huey.utc)
        huey.add_schedule(task)


def _release_stopped_worker(worker: str) -> None:
    requeued = release_worker(store_for(), worker)
    if requeued:
        log.warning("worker %s stopped with tasks still running; re-enqueued %s", worker, requeued)


heartbeat.on_last_stop.append(_release_stopped_worker)
