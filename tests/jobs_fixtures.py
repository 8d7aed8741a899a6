"""Fixtures for the jobs, admin and monitoring tests: a jobs app, real in-process Huey consumers.

Registered for every test by `pytest_plugins` in conftest.py. Consumers are real `huey.consumer.Consumer`s (thread workers) against the real Redis of the
`redis_url` fixture; only their signal handlers are left out, since they run inside pytest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from huey.consumer import Consumer

import jobs
from api.app import create_app
from api.clock import Clock, system_clock
from api.services import build_services
from api.services import job_settings as worker_settings
from api.settings import Settings
from api.storage import Storage, StorageUnavailable
from api.storage.local import LocalStorage
from jobs import runtime

TOKEN = "test-admin-token"  # conftest's make_settings
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FINISHED = {"succeeded", "failed", "revoked"}


class InProcessConsumer(Consumer):
    """A real consumer whose threads run inside the test process (no signal handlers)."""

    def _set_signal_handlers(self) -> None:
        pass


@contextmanager
def running_consumer(workers: int = 2) -> Iterator[InProcessConsumer]:
    consumer = InProcessConsumer(
        jobs.huey,
        workers=workers,
        periodic=False,
        worker_type="thread",
        initial_delay=0.01,
        backoff=1.1,
        max_delay=0.05,
        check_worker_health=False,
    )
    consumer.start()
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)


def wait_for(predicate: Callable[[], object], timeout: float = 15.0, interval: float = 0.005):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
        time.sleep(interval)


def task_of(client, task_id: str) -> dict:
    response = client.get(f"/api/v1/tasks/{task_id}", headers=AUTH)
    assert response.status_code == 200, response.json
    return response.json


def wait_task(client, task_id: str, statuses=FINISHED, timeout: float = 15.0) -> dict:
    return wait_for(lambda: (t := task_of(client, task_id))["status"] in statuses and t, timeout)


class RecordingStorage(LocalStorage):
    """The real local adapter, recording every key it is asked to HEAD; `gate` (when set) makes
    HEAD calls after the first `gate_after` wait until the test opens it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.heads: list[str] = []
        self.lock = threading.Lock()
        self.gate: threading.Event | None = None
        self.gate_after = 0
        self.waiting = threading.Event()
        self.unavailable = False  # answer every HEAD like a store that is down (5xx)

    def _head(self, key):
        with self.lock:
            self.heads.append(key)
            blocked = self.gate is not None and len(self.heads) > self.gate_after
        if blocked:
            self.waiting.set()
            assert self.gate.wait(30), "gate never opened"
        if self.unavailable:
            raise StorageUnavailable(f"{key}: store is down")
        return super()._head(key)

    def close_gate(self, after: int = 0) -> threading.Event:
        self.gate, self.gate_after = threading.Event(), after
        self.waiting.clear()
        return self.gate


@pytest.fixture
def job_settings(make_settings):
    """Fast polling and heartbeats, a tiny storage back-off, small chunks."""

    def make(**overrides):
        values = dict(
            huey_read_timeout_seconds=0.05,
            worker_heartbeat_seconds=0.05,
            job_storage_backoff_seconds=0.001,
            batch_chunk_size=100,
        )
        values.update(overrides)
        return make_settings(**values)

    return make


@pytest.fixture
def recording_storage(settings):
    """The local adapter over the seeded images, recording HEADs, with the jobs' retry count."""
    return RecordingStorage(settings.images_dir, settings.signing_secret, retries=3, backoff=0.001)


def build_job_app(settings: Settings, storage: Storage | None = None, clock: Clock = system_clock):
    """An HTTP app on the services a worker builds (the jobs' storage retry policy), installed
    for the consumers: one set of services for both sides."""
    app = create_app(services=build_services(worker_settings(settings), storage=storage, clock=clock))
    runtime.install(app.extensions["services"])
    return app


@pytest.fixture
def install_job_app(clock):
    """Build a tasks' app and install it for the consumers; uninstalled and closed at teardown."""
    apps = []

    def install(settings, storage):
        app = build_job_app(settings, storage, clock)
        apps.append(app)
        return app

    yield install
    runtime.install(None)
    for app in apps:
        app.extensions["services"].close()


@pytest.fixture
def make_japp(job_settings, install_job_app, recording_storage):
    """Build the tasks' app (settings overrides allowed) and install it for the consumers."""
    return lambda **overrides: install_job_app(job_settings(**overrides), recording_storage)


@pytest.fixture
def japp(make_japp):
    """One app for both sides: the HTTP client enqueues, in-process consumers run tasks with it."""
    return make_japp()


@pytest.fixture
def jclient(japp):
    return japp.test_client()
