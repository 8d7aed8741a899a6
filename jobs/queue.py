"""The one Huey instance: a priority queue on Redis whose results expire.

It lives in the app's Redis (or the Sentinel primary), in db `HUEY_REDIS_DB` (the cache keeps its
own db), so a cache flush never touches queued jobs; or on `HUEY_REDIS_URL` when given (needed
with a Redis Cluster, which has no db but 0 and spreads keys over shards). The connection is made lazily: `huey_consumer jobs.huey` reads
the environment on first use; `jobs.connect` points it at a process's settings, so an app
and the consumer it talks to always agree on where the queue is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import redis
from huey import PriorityRedisExpireHuey
from huey.api import Task
from huey.storage import PriorityRedisExpireStorage

from api.redis_topology import huey_url as huey_url  # re-exported: the queue's db in a Redis URL
from api.redis_topology import queue_pool
from api.settings import Settings

from .serializer import JsonSerializer

# Priorities stand in for the original design's quick / batch / maintenance queues.
PRIORITY_QUICK = 100
PRIORITY_BATCH = 50
PRIORITY_MAINTENANCE = 10

F = TypeVar("F", bound=Callable[..., Any])


class TaskFunction(Protocol):
    """What `huey.task` makes of a function: calling it enqueues a run; `.s()` builds the
    Task to enqueue."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

    def s(self, *args: Any, **kwargs: Any) -> Task: ...


class QueueUnavailable(RuntimeError):
    """The job queue is not configured or its Redis cannot be reached."""


class JobQueue(PriorityRedisExpireHuey):
    """PriorityRedisExpireHuey with lazy, re-pointable storage and JSON messages."""

    if TYPE_CHECKING:
        # Huey ships no type information, so its decorators would leave every task, signal
        # receiver and startup hook untyped. These are their signatures as the jobs use them.
        def task(self, **options: Any) -> Callable[[Callable[..., Any]], TaskFunction]: ...

        def periodic_task(
            self, validate_datetime: Callable[..., bool], **options: Any
        ) -> Callable[[Callable[..., Any]], TaskFunction]: ...

        def signal(self, *signals: str) -> Callable[[F], F]: ...

        def on_startup(self, name: str | None = None) -> Callable[[F], F]: ...

        def on_shutdown(self, name: str | None = None) -> Callable[[F], F]: ...

    def __init__(self, name: str = "iuc") -> None:
        self._storage: PriorityRedisExpireStorage | None = None
        self._config: tuple[str, float, int] | None = None
        self._storage_lock = threading.Lock()
        self.settings: Settings | None = None
        super().__init__(name, results=True, utc=True, serializer=JsonSerializer())

    def create_storage(self) -> None:  # Huey calls this from __init__; the real one is made on first use
        return None

    @property
    def storage(self) -> PriorityRedisExpireStorage:
        if self._storage is None:
            with self._storage_lock:
                if self._storage is None:
                    self.configure(Settings.from_env())
        return self._storage

    @storage.setter
    def storage(self, value: PriorityRedisExpireStorage | None) -> None:
        self._storage = value

    def configure(self, settings: Settings) -> None:
        """Point the queue at `settings`' Redis; a no-op when it already does."""
        if not settings.queue_configured:
            raise QueueUnavailable("REDIS_URL is not set: the job queue needs Redis (the launcher sets it)")
        read_timeout = settings.huey_read_timeout_seconds
        where, pool = queue_pool(
            settings,
            connect_timeout=max(1.0, settings.redis_timeout_seconds),
            read_timeout=read_timeout + 5.0,  # longer than the blocking dequeue
        )
        config = (where, read_timeout, settings.huey_result_ttl_seconds)
        if config == self._config:
            pool.disconnect()
            self.settings = settings
            return
        self._storage = PriorityRedisExpireStorage(
            self.name,
            connection_pool=pool,
            read_timeout=read_timeout,
            expire_time=settings.huey_result_ttl_seconds,
        )
        self._config = config
        self.settings = settings

    @property
    def conn(self) -> redis.Redis:
        """The raw client of the queue's db; task status and heartbeats live next to the queue."""
        conn: redis.Redis = self.storage.conn  # Huey's RedisStorage keeps a redis.Redis (bytes replies)
        return conn


huey = JobQueue("iuc")
