"""Abuse bounds: made-up keys cost at most one storage call per key per negative TTL across the
fleet, leave small short-lived traces in Redis, and spend a per-client budget of storage calls;
a gallery (hits, listing-seeded keys) never spends it. Real Redis, real local store (counted)."""

from __future__ import annotations

import pytest
import redis

from api.app import create_app
from api.embedded_redis import EmbeddedRedis
from api.redis_keys import ACCESS_KEY, INDEX_KEY, L2_PREFIX, NEGATIVE_PREFIX
from api.storage import ObjectNotFound

from .conftest import write_images

LONG = "/".join(["x" * 240] * 3)  # made-up keys near the 850-byte cap (in segments a filesystem holds)


def junk(n: int, tag: str = "a") -> list[str]:
    return [f"junk/{tag}{i:04d}-{LONG}" for i in range(n)]


@pytest.fixture
def make_app(make_settings, clock, storage):
    apps = []

    def make(**overrides):
        app = create_app(make_settings(**overrides), clock=clock, storage=storage)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["url_cache"].close()


def test_negative_entries_are_small_short_lived_and_in_no_index(make_app, settings, redis_url):
    cache = make_app().extensions["url_cache"]
    keys = junk(100)
    found, errors = cache.resolve_many(keys)
    assert not found and all(isinstance(e, ObjectNotFound) for e in errors.values())
    cache.flush()  # write buffered access times: none may be for a missing key
    r = redis.Redis.from_url(redis_url)
    negative = list(r.scan_iter(match=NEGATIVE_PREFIX + "*", count=1000))
    assert len(negative) == 100
    sizes = [r.memory_usage(name) for name in negative]
    assert max(sizes) <= 96, sizes[:3]  # 80 B measured; an 800-byte key's entry was 890 B
    assert all(0 < r.ttl(name) <= settings.negative_ttl_seconds for name in negative)
    assert not list(r.scan_iter(match=L2_PREFIX + "*"))
    assert r.zcard(INDEX_KEY) == 0 and r.zcard(ACCESS_KEY) == 0


def test_an_unknown_key_costs_one_storage_call_per_negative_ttl_across_processes(make_app, storage, clock, settings):
    keys = junk(50)
    first, second = (make_app().extensions["url_cache"] for _ in range(2))  # two processes
    first.resolve_many(keys)
    assert storage.calls["head"] == 50
    second.resolve_many(keys)  # its L1 is empty: the negative entries in Redis answer
    clock.advance(settings.negative_ttl_seconds - 1)
    make_app().extensions["url_cache"].resolve_many(keys)
    assert storage.calls["head"] == 50
    clock.advance(2)  # the negative TTL has passed: asked once more, once per key
    first.resolve_many(keys)
    second.resolve_many(keys)
    assert storage.calls["head"] == 100


def test_a_known_key_becomes_negative_without_shadowing_and_back(make_app, storage, data_dir, clock, settings):
    cache = make_app().extensions["url_cache"]
    with pytest.raises(ObjectNotFound):
        cache.resolve("gallery/late.png")
    write_images(data_dir / "images", {"gallery/late.png": b"here now"})
    clock.advance(settings.negative_ttl_seconds + 1)
    assert cache.resolve("gallery/late.png").size == len(b"here now")
    assert make_app().extensions["url_cache"].resolve("gallery/late.png").size == len(b"here now")


def test_junk_batches_spend_the_client_budget_then_429_before_storage(make_app, storage):
    client = make_app(rate_limit_storage_misses="600 per minute").test_client()
    assert client.get("/api/v1/urls/gallery/red.png").status_code == 200  # a real key, now cached
    keys = junk(500)
    response = client.post("/api/v1/urls", json={"keys": keys})
    assert response.status_code == 200 and {e["code"] for e in response.json["errors"]} == {"not_found"}
    assert storage.calls["head"] == 501
    again = client.post("/api/v1/urls", json={"keys": keys})  # negative entries: no storage call, no cost
    assert again.status_code == 200 and storage.calls["head"] == 501
    refused = client.post("/api/v1/urls", json={"keys": junk(500, "b")})
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "rate_limited"
    assert refused.json["error"]["details"]["budget"] == "storage_misses"
    assert refused.headers["Cache-Control"] == "no-store"
    assert 0 < int(refused.headers["Retry-After"]) <= 120
    assert storage.calls["head"] == 501  # nothing of the refused batch reached storage
    assert client.get("/api/v1/urls/gallery/red.png").status_code == 200  # hits cost nothing
    assert client.get("/i/gallery/red.png").status_code == 302
    other = {"REMOTE_ADDR": "10.0.0.9"}  # another client has its own budget
    assert client.post("/api/v1/urls", json={"keys": junk(5, "c")}, environ_base=other).status_code == 200


def test_single_misses_on_every_route_spend_the_same_budget(make_app, storage):
    client = make_app(rate_limit_storage_misses="3 per minute").test_client()
    statuses = [
        client.get("/api/v1/urls/junk/1.png").status_code,
        client.get("/i/junk/2.png").status_code,
        client.get("/p/junk/3.png").status_code,
    ]
    assert statuses == [404, 404, 404]
    for url in ("/api/v1/urls/junk/4.png", "/i/junk/4.png", "/p/junk/4.png"):
        response = client.get(url)
        assert response.status_code == 429, url
        assert response.json["error"]["code"] == "rate_limited" and int(response.headers["Retry-After"]) > 0
    assert storage.calls["head"] == 3
    assert client.get("/i/junk/1.png").status_code == 404  # a known miss is answered, free


def test_a_gallery_never_sees_the_budget(make_app, storage, data_dir):
    keys = [f"album/{i:04d}.jpg" for i in range(300)]
    write_images(data_dir / "images", {k: b"\xff\xd8\xff" + k.encode() for k in keys})
    client = make_app(rate_limit_storage_misses="1 per hour").test_client()
    listed, cursor = [], None
    while True:  # the gallery pages through the listing, which seeds every key's metadata
        query = {"prefix": "album/", "limit": 200} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/images", query_string=query).json
        listed += [item["key"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert listed == keys
    for start in range(0, 300, 100):  # the resolver's batches, then again (a second view)
        for _ in range(2):
            response = client.post("/api/v1/urls", json={"keys": keys[start : start + 100]})
            assert response.status_code == 200 and len(response.json["items"]) == 100
    assert all(client.get(f"/i/{k}").status_code == 302 for k in keys[:50])
    assert client.get(f"/p/{keys[0]}").status_code == 200
    assert storage.calls["head"] == 0


def test_the_budget_holds_in_memory_while_redis_is_down(tmp_path, make_settings, clock, storage):
    server = EmbeddedRedis(tmp_path / "redis", persist=False)
    server.start()
    settings = make_settings(redis_url=server.url, redis_timeout_seconds=0.2, rate_limit_storage_misses="3 per minute")
    app = create_app(settings, clock=clock, storage=storage)
    client = app.test_client()
    try:
        server.stop()
        statuses = [client.get(f"/api/v1/urls/junk/{i}.png").status_code for i in range(5)]
        assert statuses == [404, 404, 404, 429, 429]
        assert storage.calls["head"] == 3
    finally:
        app.extensions["url_cache"].close()
        server.stop()
