"""Rate limits: the JSON API shares a budget in Redis, delivery is limited per process; 429 JSON."""

from __future__ import annotations

import pytest

from api.app import create_app

KEY = "gallery/red.png"


@pytest.fixture
def limited(make_settings, clock):
    apps = []

    def make(**overrides):
        values = dict(rate_limit_public="3 per minute", rate_limit_delivery="2 per minute") | overrides
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
