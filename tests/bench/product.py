"""The product in process: settings, storage and cache wired as the app wires them, with the
benchmarks' secrets; the periodic jobs' bodies as plain calls."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import redis

SIGNING_SECRET = "bench-signing-secret"
ADMIN_TOKEN = "bench-admin-token"


def settings_for(data_dir: Path, redis_url: str | None, **overrides):
    from api.settings import Settings

    values = dict(
        data_dir=data_dir,
        redis_url=redis_url,
        local_signing_secret=SIGNING_SECRET,
        admin_token=ADMIN_TOKEN,
        log_level="warning",
    )
    values.update(overrides)
    return Settings.from_env({}, **values)


def url_cache_for(settings, storage, clock=None, client: redis.Redis | None = None):
    """A UrlCache wired the way `build_services` wires it, on a client with a bench-sized timeout."""
    from api.cache.url_cache import UrlCache
    from api.clock import system_clock

    if client is None and settings.redis_url:
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    return UrlCache(storage, client, settings, clock=clock or system_clock)


def local_storage(root: Path):
    from api.storage.local import LocalStorage

    return LocalStorage(root, secret=SIGNING_SECRET)


def write_files(root: Path, keys: Iterable[str], data: bytes = b"") -> None:
    made: set[Path] = set()
    for key in keys:
        path = root / key
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(data)


def pre_refresh_for(app) -> tuple[Callable[[], dict], str]:
    """The jobs' pre-refresh as a plain call on `app`'s services (whose cache carries the
    clock), and what it is."""
    from jobs.tasks import run_pre_refresh

    services = app.extensions["services"]
    return (lambda: run_pre_refresh(services)), "jobs.tasks.run_pre_refresh (the periodic task's body)"


def cleanup_for(app) -> Callable[[], object]:
    """What the periodic cleanup does to the cache: trim lapsed index and stale access entries."""
    cache = app.extensions["url_cache"]
    s = app.extensions["settings"]
    return lambda: cache.trim(cache.clock(), s.hot_horizon_seconds)
