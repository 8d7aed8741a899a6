"""Rate limits of public endpoints: shared in Redis across workers, 429 JSON with Retry-After."""
from __future__ import annotations

import pytest

from api import create_app

KEY = "gallery/red.png"


@pytest.fixture
def limited(make_settings, clock):
    apps = []

    def make(**overrides):
        app = create_app(make_settings(rate_limit_public="3 per minute", **overrides), clock=clock)
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["url_cache"].close()


def test_public_endpoints_share_one_budget_then_answer_429_json(limited):
    client = limited()
    statuses = [
        client.get(f"/api/v1/urls/{KEY}").status_code,
        client.get(f"/i/{KEY}").status_code,
        client.get("/api/v1/images?prefix=gallery/").status_code,
    ]
    assert statuses == [200, 302, 200]
    response = client.get(f"/p/{KEY}")
    assert response.status_code == 429
    assert response.json["error"]["code"] == "rate_limited"
    assert response.headers["Cache-Control"] == "no-store"
    assert 0 < int(response.headers["Retry-After"]) <= 120


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
