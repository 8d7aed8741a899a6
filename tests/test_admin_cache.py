"""Cache flush (admin): one key, a prefix, or everything; the next lookup asks storage again."""

from __future__ import annotations

from api.app import create_app
from api.embedded_redis import EmbeddedRedis

from .conftest import IMAGES
from .jobs_fixtures import AUTH


def warm_all(client):
    response = client.post("/api/v1/urls", json={"keys": list(IMAGES)})
    assert response.status_code == 200 and len(response.json["items"]) == len(IMAGES)


def test_flush_one_key(client, storage):
    warm_all(client)
    heads = storage.calls["head"]
    response = client.delete("/api/v1/cache/gallery/red.png", headers=AUTH)
    assert response.status_code == 200 and response.json == {"flushed": 1}
    client.get("/api/v1/urls/gallery/red.png")
    client.get("/api/v1/urls/gallery/green.jpg")
    assert storage.calls["head"] == heads + 1  # only the flushed key went back to storage
    assert client.delete("/api/v1/cache/gallery/never-cached.png", headers=AUTH).json == {"flushed": 0}


def test_flush_a_prefix(client, storage):
    warm_all(client)
    heads = storage.calls["head"]
    response = client.delete("/api/v1/cache?prefix=gallery/", headers=AUTH)
    assert response.json == {"flushed": 3}
    client.post("/api/v1/urls", json={"keys": list(IMAGES)})
    assert storage.calls["head"] == heads + 3


def test_flush_everything(client, storage):
    warm_all(client)
    assert client.delete("/api/v1/cache", headers=AUTH).json == {"flushed": len(IMAGES)}
    assert client.delete("/api/v1/cache", headers=AUTH).json == {"flushed": 0}


def test_flush_rejects_bad_keys_and_prefixes(client):
    assert client.delete("/api/v1/cache?prefix=../", headers=AUTH).json["error"]["code"] == "path_traversal"
    assert client.delete("/api/v1/cache/a/%2e%2e/b", headers=AUTH).json["error"]["code"] == "path_traversal"


def test_flush_with_redis_down_is_503_not_a_claim_of_success(tmp_path, make_settings, clock, storage):
    server = EmbeddedRedis(tmp_path / "redis", persist=False)
    server.start()
    app = create_app(make_settings(redis_url=server.url, redis_timeout_seconds=0.2), clock=clock, storage=storage)
    client = app.test_client()
    try:
        warm_all(client)
        server.stop()
        for url in ("/api/v1/cache", "/api/v1/cache?prefix=gallery/", "/api/v1/cache/gallery/red.png"):
            response = client.delete(url, headers=AUTH)
            assert response.status_code == 503, url
            assert response.json["error"]["code"] == "redis_unavailable"
            assert response.headers["Cache-Control"] == "no-store" and response.headers["Retry-After"]
        server.start()  # back (empty: persist=False), and the flush reports what it did
        clock.advance(app.extensions["settings"].redis_retry_seconds)
        assert client.delete("/api/v1/cache", headers=AUTH).json == {"flushed": 0}
    finally:
        app.extensions["url_cache"].close()
        server.stop()
