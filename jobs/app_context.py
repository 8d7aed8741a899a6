"""The Flask app whose domain objects (settings, storage, URL cache, clock) tasks work with.

A consumer process builds it lazily from the environment on first use, with the jobs' storage
retry policy (more patient than a request's). Tests install their own with `set_app`, e.g. one
built on a ManualClock, so periodic tasks see the test's time.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Iterator

from flask import current_app, has_app_context

from api import logs
from api.clock import Clock, system_clock
from api.settings import Settings

if TYPE_CHECKING:
    from flask import Flask

    from api.cache.url_cache import UrlCache
    from api.storage import Storage

_app: "Flask | None" = None
_lock = threading.Lock()


def job_settings(settings: Settings) -> Settings:
    """Settings as a worker uses them: storage retries with the jobs' longer back-off."""
    return replace(
        settings,
        storage_retries=settings.job_storage_retries,
        storage_backoff_seconds=settings.job_storage_backoff_seconds,
    )


def build_job_app(
    settings: Settings | None = None, *, storage: "Storage | None" = None, clock: Clock = system_clock
) -> "Flask":
    """A Flask app for running tasks: `create_app` with `job_settings`."""
    from api import create_app

    return create_app(job_settings(settings or Settings.from_env()), storage=storage, clock=clock)


def get_app() -> "Flask":
    """The tasks' app, built from the environment the first time it is needed."""
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                _app = build_job_app()
                _one_log_line_each()
    return _app


def _one_log_line_each() -> None:
    """huey_consumer gives the `huey` logger its own handler, and create_app configures the root
    one: keep Huey's lines on its handler only, with signatures redacted there too."""
    huey_logger = logging.getLogger("huey")
    if huey_logger.handlers:
        huey_logger.propagate = False
        logs.install_redaction("huey")


def set_app(app: "Flask | None") -> None:
    """Install the app tasks use (tests: one with a ManualClock or an instrumented storage)."""
    global _app
    with _lock:
        _app = app


def active_app() -> "Flask":
    """The app of the current request or CLI command if any, else the tasks' app."""
    if has_app_context():
        return current_app._get_current_object()
    return get_app()


@dataclass(frozen=True)
class JobContext:
    app: "Flask"

    @property
    def settings(self) -> Settings:
        return self.app.extensions["settings"]

    @property
    def cache(self) -> "UrlCache":
        return self.app.extensions["url_cache"]

    @property
    def storage(self) -> "Storage":
        return self.app.extensions["storage"]

    @property
    def clock(self) -> Clock:
        return self.cache.clock


@contextmanager
def job_context() -> Iterator[JobContext]:
    """Run task code inside the tasks' app context."""
    app = get_app()
    with app.app_context():
        yield JobContext(app)
