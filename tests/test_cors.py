"""CORS preflights and responses as a browser on another origin needs them (the real browser
journey is e2e/test_cors.py)."""

from __future__ import annotations

import pytest

from api.app import create_app

ORIGIN = "https://app.example"
KEY = "gallery/red.png"
ADMIN = {"Authorization": "Bearer test-admin-token"}


@pytest.fixture
def cors_client(make_settings, clock, storage):
    def make(**overrides):
        settings = make_settings(cors_origins=(ORIGIN,), rate_limit_enabled=False, **overrides)
        return create_app(settings, clock=clock, storage=storage).test_client()

    return make


def preflight(client, path: str, method: str, headers: str, origin: str = ORIGIN):
    return client.options(
        path,
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )


def listed(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


@pytest.mark.parametrize(
    "path, method, headers",
    [
        ("/api/v1/urls", "POST", "content-type"),
        (f"/p/{KEY}", "GET", "if-none-match, range"),
        (f"/p/{KEY}", "GET", "if-range, range"),
        (f"/api/v1/urls/{KEY}", "GET", "if-none-match"),
        ("/api/v1/images", "GET", "content-type"),
    ],
)
def test_preflight_allows_what_the_public_api_needs(cors_client, storage, path, method, headers):
    response = preflight(cors_client(), path, method, headers)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert method.lower() in listed(response.headers["Access-Control-Allow-Methods"])
    assert listed(headers) <= listed(response.headers["Access-Control-Allow-Headers"])
    assert response.headers["Access-Control-Max-Age"] == "3600"
    assert "Origin" in response.headers["Vary"]
    assert storage.total == 0  # a preflight never reaches storage


def test_preflight_from_another_origin_gets_no_grant(cors_client):
    response = preflight(cors_client(), "/api/v1/urls", "POST", "content-type", origin="https://evil.example")
    assert not any(name.startswith("Access-Control-Allow") for name, _ in response.headers.items())
    assert "Origin" in response.headers["Vary"]


def test_responses_expose_the_headers_clients_read(cors_client):
    client = cors_client()
    response = client.get(f"/p/{KEY}", headers={"Origin": ORIGIN, "Range": "bytes=0-9"})
    assert response.status_code == 206
    assert {"etag", "content-range", "accept-ranges", "retry-after"} <= listed(
        response.headers["Access-Control-Expose-Headers"]
    )
    error = client.get("/api/v1/urls/gallery/missing.png", headers={"Origin": ORIGIN})
    assert error.status_code == 404 and error.headers["Access-Control-Allow-Origin"] == ORIGIN  # errors readable too


def test_admin_routes_have_no_cors_unless_asked(cors_client):
    response = preflight(cors_client(), "/api/v1/tasks/refresh", "POST", "authorization, content-type")
    assert "Access-Control-Allow-Origin" not in response.headers
    assert (
        "Access-Control-Allow-Origin"
        not in cors_client().get("/api/v1/monitoring/stats", headers={"Origin": ORIGIN, **ADMIN}).headers
    )


def test_cors_admin_allows_the_bearer_token(cors_client):
    client = cors_client(cors_admin=True)
    response = preflight(client, "/api/v1/tasks/refresh", "POST", "authorization, content-type")
    assert response.status_code == 200
    assert {"authorization", "content-type"} <= listed(response.headers["Access-Control-Allow-Headers"])
    flush = preflight(client, "/api/v1/cache", "DELETE", "authorization")
    assert "delete" in listed(flush.headers["Access-Control-Allow-Methods"])
    stats = client.get("/api/v1/monitoring/stats", headers={"Origin": ORIGIN, **ADMIN})
    assert stats.status_code == 200 and stats.headers["Access-Control-Allow-Origin"] == ORIGIN
    public = preflight(client, "/api/v1/urls", "POST", "authorization")
    assert "authorization" not in listed(public.headers.get("Access-Control-Allow-Headers"))


def test_any_origin(make_settings, clock, storage):
    client = create_app(make_settings(cors_origins=("*",)), clock=clock, storage=storage).test_client()
    response = preflight(client, "/api/v1/urls", "POST", "content-type", origin="https://anywhere.example")
    assert response.headers["Access-Control-Allow-Origin"] == "https://anywhere.example"
    assert "content-type" in listed(response.headers["Access-Control-Allow-Headers"])
