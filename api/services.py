"""The domain's services, built once per process: settings, storage, Redis, URL cache, clock.

`build_services` is the one place they are wired. The HTTP app (`api.app.create_app`), the job
workers (`jobs.runtime`) and the CLI all build on it, so a worker never needs the HTTP app.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import redis

from .cache.url_cache import UrlCache
from .clock import Clock, system_clock
from .redis_topology import cache_client
from .settings import Settings
from .storage import Storage, build_storage


@dataclass(frozen=True)
class Services:
    settings: Settings
    storage: Storage
    redis: redis.Redis | None  # the cache's Redis; None when no Redis is configured
    cache: UrlCache
    clock: Clock

    def close(self) -> None:
        self.cache.close()


def redis_client(settings: Settings) -> redis.Redis | None:
    """The cache's Redis for the configured topology (api.redis_topology)."""
    return cache_client(settings)


def build_services(
    settings: Settings | None = None, *, storage: Storage | None = None, clock: Clock = system_clock
) -> Services:
    """Wire the domain from `settings` (default: the environment). Tests pass their own
    storage (instrumented) or clock (manual)."""
    settings = settings or Settings.from_env()
    client = redis_client(settings)
    storage = storage or build_storage(settings, clock)
    return Services(settings, storage, client, UrlCache(storage, client, settings, clock=clock), clock)


def job_settings(settings: Settings) -> Settings:
    """Settings as background work uses them: storage retries with the jobs' longer back-off
    (a request cannot wait that long; a job can)."""
    return replace(
        settings,
        storage_retries=settings.job_storage_retries,
        storage_backoff_seconds=settings.job_storage_backoff_seconds,
    )
