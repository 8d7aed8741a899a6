"""Background jobs on Huey: refresh, batch refresh, warm, periodic pre-refresh and cleanup.

The consumer runs as `huey_consumer jobs.huey -k thread -w 4` (see the Procfile). Importing this
package registers the tasks, the status-recording signal handlers and the worker heartbeat.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .queue import PRIORITY_BATCH, PRIORITY_MAINTENANCE, PRIORITY_QUICK, QueueUnavailable, huey
from . import heartbeat, status, tasks  # noqa: E402,F401  (registration side effects)

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["PRIORITY_BATCH", "PRIORITY_MAINTENANCE", "PRIORITY_QUICK", "QueueUnavailable", "huey", "init_app", "queue_state"]


def init_app(app: "Flask") -> None:
    """Point the queue at the app's Redis (when it has one), so what the app enqueues lands
    where its consumers read."""
    settings = app.extensions["settings"]
    if settings.redis_url:
        huey.configure(settings)
    app.extensions["huey"] = huey


def queue_state():
    """Queue depth, scheduled jobs and live workers, for monitoring (None counts: Redis away)."""
    import redis

    from api.monitoring import QueueState

    try:
        return QueueState(huey.pending_count(), huey.scheduled_count(), heartbeat.alive_workers(huey.conn))
    except (redis.RedisError, QueueUnavailable):
        return QueueState(None, None, [])
