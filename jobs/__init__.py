"""Background jobs on Huey: refresh, batch refresh, warm, periodic pre-refresh and cleanup.

The consumer runs as `huey_consumer jobs.huey -k thread -w 4` (see the Procfile). Importing this
package registers the tasks, the status-recording signal handlers and the worker heartbeat.
Jobs run on the domain's services (`jobs.runtime`), never on the HTTP app.
"""

from __future__ import annotations

from contextlib import suppress

import redis
from huey.api import Task

from api.monitoring import QueueState
from api.services import Services
from api.settings import Settings

from . import heartbeat, runtime, status, tasks
from .queue import PRIORITY_BATCH, PRIORITY_MAINTENANCE, PRIORITY_QUICK, QueueUnavailable, huey

__all__ = [
    "PRIORITY_BATCH",
    "PRIORITY_MAINTENANCE",
    "PRIORITY_QUICK",
    "QueueUnavailable",
    "connect",
    "enqueue",
    "huey",
    "queue_state",
    "runtime",
    "status",
    "tasks",
]


def connect(settings: Settings) -> None:
    """Point the queue at `settings`' Redis (when there is one), so what a process enqueues
    lands where its consumers read."""
    if settings.queue_configured:
        huey.configure(settings)


def enqueue(task: Task, services: Services) -> str:
    """Put a task on the queue, its status record written with `services`. If the queue is
    unreachable the half-written record is dropped and the error raised."""
    with runtime.bound(services):
        try:
            huey.enqueue(task)
        except (redis.RedisError, QueueUnavailable):
            with suppress(redis.RedisError, QueueUnavailable):
                status.store_for(services).forget(task.id)
            raise
    task_id: str = task.id
    return task_id


def queue_state() -> QueueState:
    """Queue depth, scheduled jobs and live workers, for monitoring (None counts: Redis away)."""
    try:
        return QueueState(
            huey.pending_count(),
            huey.scheduled_count(),
            heartbeat.alive_workers(huey.conn),
            heartbeat.alive_nodes(huey.conn),
        )
    except (redis.RedisError, QueueUnavailable):
        return QueueState(None, None, [])
