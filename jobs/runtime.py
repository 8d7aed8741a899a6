"""The services tasks run on, and which ones a signal handler sees.

A consumer process builds its services lazily from the environment on first use, with the
jobs' storage retry policy (more patient than a request's). Tests install their own with
`install` (e.g. built on a ManualClock, so periodic tasks see the test's time). Code that
enqueues from another process (the HTTP app, the CLI) binds its own services around the call,
since Huey fires the `enqueued` signal in the enqueuing thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from api import logs, metrics
from api.services import Services, build_services, job_settings
from api.settings import Settings

from . import repeated_errors

_installed: Services | None = None
_lock = threading.Lock()
_bound: ContextVar[Services | None] = ContextVar("iuc_job_services", default=None)


def installed() -> Services:
    """This process's task services, built from the environment the first time."""
    global _installed
    if _installed is None:
        with _lock:
            if _installed is None:
                settings = job_settings(Settings.from_env())
                logs.configure(settings.log_level)
                _one_log_line_each()
                repeated_errors.install()
                _installed = build_services(settings)
                metrics.mirror_cache_events(_installed.cache.stats)
    return _installed


def install(services: Services | None) -> None:
    """Install the services tasks use (tests: one with a ManualClock or an instrumented store)."""
    global _installed
    with _lock:
        _installed = services


def current() -> Services:
    """The services bound around the running code, else the installed ones."""
    return _bound.get() or installed()


@contextmanager
def bound(services: Services) -> Iterator[Services]:
    """Make `services` current in this thread for the duration (signals fired inside see it)."""
    token = _bound.set(services)
    try:
        yield services
    finally:
        _bound.reset(token)


def _one_log_line_each() -> None:
    """huey_consumer gives the `huey` logger its own handler, and logs.configure the root one:
    keep Huey's lines on its handler only, with signatures redacted there too."""
    huey_logger = logging.getLogger("huey")
    if huey_logger.handlers:
        huey_logger.propagate = False
        logs.install_redaction("huey")
