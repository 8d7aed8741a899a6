"""Invariant 6: with Redis gone the API keeps serving, says so, and recovers by itself."""

import pytest
import redis

from api.app import create_app
from api.embedded_redis import EmbeddedRedis

KEY = "gallery/red.png"


@pytest.fixture
def own_redis(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", persist=False)
    server.start()
    yield server
    server.stop()


def test_redis_down_then_back(own_redis, make_settings, clock, storage):
    settings = make_settings(redis_url=own_redis.url, redis_retry_seconds=2.0, redis_timeout_seconds=0.2)
    app = create_app(settings, clock=clock, storage=storage)
    client = app.test_client()
    before = client.get(f"/i/{KEY}").headers["Location"]

    own_redis.stop()
    assert client.get(f"/i/{KEY}").headers["Location"] == before  # from L1
    fresh = client.get("/api/v1/urls/gallery/green.jpg")  # L1 miss: storage + direct signing
    assert fresh.status_code == 200
    batch = client.post("/api/v1/urls", json={"keys": [KEY, "gallery/blue.webp"]})
    assert batch.status_code == 200 and len(batch.json["items"]) == 2
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["status"] == "degraded"
    assert ready.json["checks"] | {"redis": "down", "storage": "ok"} == ready.json["checks"]

    own_redis.start()
    clock.advance(settings.redis_retry_seconds)
    assert client.get("/readyz").json["status"] == "ok"
    client.get("/api/v1/urls/private/secret.png")
    stored = redis.Redis.from_url(own_redis.url).get("iuc:url:private/secret.png")
    assert stored is not None  # writes to the shared tier resumed
    assert client.get(f"/i/{KEY}").headers["Location"] == before


def test_urls_match_a_process_that_never_had_redis(own_redis, make_settings, clock, storage):
    with_redis = create_app(make_settings(redis_url=own_redis.url), clock=clock, storage=storage).test_client()
    no_redis = create_app(make_settings(redis_url=None), clock=clock, storage=storage).test_client()
    assert with_redis.get(f"/i/{KEY}").headers["Location"] == no_redis.get(f"/i/{KEY}").headers["Location"]
