"""Rate limits per real client: the JSON API shares a budget in Redis, delivery has a token bucket
per process (a gallery's burst is served, a loop is held to the rate); every 429 is JSON with
Retry-After."""

from __future__ import annotations

import pytest

from api.app import create_app

KEY = "gallery/red.png"


@pytest.fixture
def limited(make_settings, clock):
    apps = []

    def make(**overrides):
        values = dict(rate_limit_public="3 per minute", rate_limit_delivery_burst=2, rate_limit_delivery_rate=0.01)
        values |= overrides
        app = create_app(make_settings(**values), clock=clock)
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["url_cache"].close()


def test_the_json_api_shares_one_budget_then_answers_429_json(limited):
    client = limited()
    statuses = [
        client.get(f"/api/v1/urls/{KEY}").status_code,
        client.post("/api/v1/urls", json={"keys": [KEY]}).status_code,
        client.get("/api/v1/images?prefix=gallery/").status_code,
    ]
    assert statuses == [200, 200, 200]
    response = client.get(f"/api/v1/urls/{KEY}")
    assert response.status_code == 429
    assert response.json["error"]["code"] == "rate_limited"
    assert response.headers["Cache-Control"] == "no-store"
    assert 0 < int(response.headers["Retry-After"]) <= 120
    assert client.get(f"/i/{KEY}").status_code == 302  # delivery has a budget of its own


def test_delivery_routes_share_a_per_process_budget_without_redis(limited, redis_url):
    import redis

    client = limited()
    assert [client.get(f"/i/{KEY}").status_code, client.get(f"/p/{KEY}").status_code] == [302, 200]
    response = client.get(f"/i/{KEY}")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert not redis.Redis.from_url(redis_url).keys("*delivery*")  # counted in memory
    assert limited().get(f"/i/{KEY}").status_code == 302  # another process: its own budget


def test_the_budget_is_shared_by_every_worker_through_redis(limited):
    first, second = limited(), limited()  # two processes' apps on one Redis
    for _ in range(3):
        assert first.get(f"/api/v1/urls/{KEY}").status_code == 200
    assert second.get(f"/api/v1/urls/{KEY}").status_code == 429


def test_probes_and_admin_are_not_limited_by_the_public_budget(limited):
    client = limited()
    for _ in range(3):
        client.get(f"/api/v1/urls/{KEY}")
    assert all(client.get("/healthz").status_code == 200 for _ in range(10))
    auth = {"Authorization": "Bearer test-admin-token"}
    assert all(client.get("/api/v1/tasks", headers=auth).status_code == 200 for _ in range(10))


def test_limits_can_be_switched_off(limited):
    client = limited(rate_limit_enabled=False)
    assert all(client.get(f"/api/v1/urls/{KEY}").status_code == 200 for _ in range(10))


def test_clients_are_limited_separately(limited):
    client = limited()
    for _ in range(3):
        client.get(f"/api/v1/urls/{KEY}", environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert client.get(f"/api/v1/urls/{KEY}", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 429
    assert client.get(f"/api/v1/urls/{KEY}", environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200


def test_under_the_defaults_a_500_image_gallery_burst_from_one_client_gets_no_429(make_settings, clock):
    app = create_app(make_settings(), clock=clock)
    client = app.test_client()
    keys = ["gallery/red.png", "gallery/green.jpg", "gallery/blue.webp"]
    statuses = [client.get(f"/i/{keys[n % 3]}").status_code for n in range(500)]
    statuses += [client.get(f"/p/{keys[n % 3]}").status_code for n in range(500)]
    assert statuses.count(429) == 0
    app.extensions["url_cache"].close()


def test_a_loop_hammering_one_key_is_held_to_the_sustained_rate(limited, clock):
    client = limited(rate_limit_delivery_burst=1000, rate_limit_delivery_rate=50)
    assert all(client.get(f"/i/{KEY}").status_code == 302 for _ in range(1000))
    refused = client.get(f"/i/{KEY}")
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "rate_limited" and refused.headers["Retry-After"] == "1"
    clock.advance(1.0)  # refills 50 tokens, not the burst
    statuses = [client.get(f"/i/{KEY}").status_code for _ in range(60)]
    assert statuses.count(302) == 50 and statuses[50:] == [429] * 10


PROXY = {"REMOTE_ADDR": "10.9.9.9"}


def _via_proxy(client, forwarded_for: str):
    return client.get(f"/api/v1/urls/{KEY}", environ_base=PROXY, headers={"X-Forwarded-For": forwarded_for})


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(limited):
    client = limited(trusted_proxy_hops=1)
    assert [_via_proxy(client, "203.0.113.7").status_code for _ in range(3)] == [200] * 3
    assert _via_proxy(client, "203.0.113.7").status_code == 429  # the hammering client
    assert _via_proxy(client, "198.51.100.2").status_code == 200  # another user behind the same proxy
    assert _via_proxy(client, "6.6.6.6, 198.51.100.3").status_code == 200  # only the last hop is trusted


def test_without_trusted_proxies_invented_forwarded_addresses_count_as_one_client(limited):
    client = limited()  # TRUSTED_PROXY_HOPS=0
    statuses = [_via_proxy(client, f"192.0.2.{n}").status_code for n in range(6)]
    assert statuses == [200, 200, 200, 429, 429, 429]
