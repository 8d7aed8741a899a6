"""Shared fixtures: a real Redis server per test session, an injectable clock, a seeded store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from api.app import create_app
from api.clock import ManualClock
from api.embedded_redis import EmbeddedRedis
from api.settings import Settings

from .support import CountingStorage

pytest_plugins = ["tests.jobs_fixtures", "tests.cos_server"]  # their fixtures, for every test module

# One window starts exactly here for no key in particular; tests move the clock from it.
T0 = 1_800_000_000.0

IMAGES = {
    "gallery/red.png": b"\x89PNG\r\n\x1a\n" + b"r" * 2048,
    "gallery/green.jpg": b"\xff\xd8\xff" + b"g" * 4096,
    "gallery/blue.webp": b"RIFF" + b"b" * 1024,
    "private/secret.png": b"\x89PNG\r\n\x1a\n" + b"s" * 64,
}


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """URL of a real Redis: TEST_REDIS_URL if given, else the bundled redis-server binary."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """The session's Redis, emptied before each test."""
    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    return redis_server


@pytest.fixture
def clock():
    return ManualClock(T0)


def write_images(root: Path, images: dict[str, bytes]) -> Path:
    for key, data in images.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


@pytest.fixture
def data_dir(tmp_path):
    write_images(tmp_path / "images", IMAGES)
    return tmp_path


@pytest.fixture
def make_settings(data_dir, redis_url):
    """Settings for tests: real Redis, local store in tmp, tiny retry back-off."""

    def make(**overrides) -> Settings:
        values = dict(
            data_dir=data_dir,
            redis_url=redis_url,
            local_signing_secret="test-signing-secret",
            admin_token="test-admin-token",
            storage_backoff_seconds=0.001,
            access_flush_seconds=3600.0,
        )
        values.update(overrides)
        return Settings.from_env({}, **values)

    return make


@pytest.fixture
def settings(make_settings):
    return make_settings()


@pytest.fixture
def storage(settings):
    """The local store of `data_dir`, counting calls (storage.calls / storage.total)."""
    return CountingStorage(
        settings.images_dir,
        secret=settings.signing_secret,
        retries=settings.storage_retries,
        backoff=settings.storage_backoff_seconds,
    )


@pytest.fixture
def app(settings, clock, storage):
    app = create_app(settings, clock=clock, storage=storage)
    yield app
    app.extensions["url_cache"].close()


@pytest.fixture
def client(app):
    return app.test_client()
