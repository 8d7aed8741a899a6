"""Admin security: every admin route (found from the URL map) needs the bearer token."""

from __future__ import annotations

import re

import pytest

from api.app import create_app
from api.http import auth

from .jobs_fixtures import AUTH, TOKEN

ADMIN_PATHS = re.compile(r"^/(api/v1/(tasks|cache|monitoring)(/|$)|metrics$)")
SAMPLE_ARGS = {"key": "gallery/red.png", "task_id": "no-such-task"}


@pytest.fixture
def admin_app(make_settings, clock):
    app = create_app(make_settings(rate_limit_auth_failures="10000 per minute"), clock=clock)
    yield app
    app.extensions["url_cache"].close()


def admin_routes(app) -> list[tuple[str, str]]:
    """(method, url) of every route an admin guard protects, plus a consistency check: every
    route under the admin paths is on a protected blueprint (so none can be added unguarded)."""
    routes = []
    for rule in app.url_map.iter_rules():
        blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
        protected = (blueprint is not None and auth.is_admin_blueprint(blueprint)) or rule.rule == "/metrics"
        under_admin_path = bool(ADMIN_PATHS.match(rule.rule))
        assert protected == under_admin_path, f"{rule.rule} ({rule.endpoint}) is not guarded consistently"
        if protected:
            url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: SAMPLE_ARGS[m.group(1)], rule.rule)
            routes += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_the_admin_routes_are_all_found(admin_app):
    found = set(admin_routes(admin_app))
    assert found == {
        ("POST", "/api/v1/tasks/refresh"),
        ("POST", "/api/v1/tasks/batch-refresh"),
        ("POST", "/api/v1/tasks/warm"),
        ("GET", "/api/v1/tasks"),
        ("GET", "/api/v1/tasks/no-such-task"),
        ("DELETE", "/api/v1/tasks/no-such-task"),
        ("DELETE", "/api/v1/cache"),
        ("DELETE", "/api/v1/cache/gallery/red.png"),
        ("GET", "/api/v1/monitoring/stats"),
        ("GET", "/api/v1/monitoring/timeseries"),
        ("GET", "/metrics"),
    }


def test_no_token_is_401_and_a_wrong_token_403_on_every_admin_endpoint(admin_app):
    client = admin_app.test_client()
    for method, url in admin_routes(admin_app):
        for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}):
            response = client.open(url, method=method, headers=headers, json={})
            assert response.status_code == 401, (method, url, headers)
            assert response.json["error"]["code"] == "auth_required"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        for token in ("wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper()):
            response = client.open(url, method=method, headers={"Authorization": f"Bearer {token}"}, json={})
            assert response.status_code == 403, (method, url, token)
            assert response.json["error"] == {"code": "invalid_token", "message": "The admin token is not valid.",
                                               "details": None}  # fmt: skip
            assert response.headers["Cache-Control"] == "no-store"
        response = client.open(url, method=method, headers=AUTH, json={})
        assert response.status_code not in (401, 403), (method, url)


def test_the_token_is_checked_before_the_body(admin_app):
    response = admin_app.test_client().post("/api/v1/tasks/refresh", json={"image_key": "../x"})
    assert response.status_code == 401


def test_the_scheme_is_case_insensitive(admin_app):
    response = admin_app.test_client().get("/api/v1/tasks", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200


def test_metrics_can_be_made_public(make_settings, clock):
    app = create_app(make_settings(metrics_public=True), clock=clock)
    assert app.test_client().get("/metrics").status_code == 200
    assert app.test_client().get("/api/v1/monitoring/stats").status_code == 401
    app.extensions["url_cache"].close()


def test_public_endpoints_need_no_token(admin_app):
    client = admin_app.test_client()
    assert client.get("/api/v1/urls/gallery/red.png").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_token_comparison_is_exact():
    assert auth.token_matches("secret", "secret")
    assert not auth.token_matches("secret", "secreT")
    assert not auth.token_matches("", "secret")
    assert not auth.token_matches("secret" * 100, "secret")


def test_openapi_declares_the_bearer_scheme_on_admin_operations(admin_app):
    spec = admin_app.test_client().get("/openapi.json").json
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert spec["paths"]["/api/v1/tasks/refresh"]["post"]["security"] == [{"bearerAuth": []}]
    assert "security" not in spec["paths"]["/api/v1/urls/{key}"]["get"]


def test_failed_token_attempts_are_rate_limited(make_settings, clock):
    app = create_app(make_settings(rate_limit_auth_failures="3 per minute"), clock=clock)
    client = app.test_client()
    wrong = {"Authorization": "Bearer guess"}
    assert [client.get("/api/v1/tasks", headers=wrong).status_code for _ in range(2)] == [403, 403]
    assert client.get("/api/v1/tasks", headers=AUTH).status_code == 200  # successes do not count
    assert client.get("/api/v1/monitoring/stats", headers=wrong).status_code == 403  # shared across routes
    response = client.get("/api/v1/tasks", headers=wrong)
    assert response.status_code == 429
    assert response.json["error"]["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= 2 * 60  # sliding window: at most two windows
    app.extensions["url_cache"].close()


def test_wrong_tokens_never_lock_out_the_valid_token(make_settings, clock):
    app = create_app(make_settings(rate_limit_auth_failures="30 per minute"), clock=clock)
    client = app.test_client()
    wrong = {"Authorization": "Bearer guess"}
    assert {client.get("/api/v1/tasks", headers=wrong).status_code for _ in range(30)} == {403}
    refused = client.get("/api/v1/tasks", headers=wrong)  # the 31st wrong token
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
    for url in ("/api/v1/tasks", "/api/v1/monitoring/stats", "/metrics"):
        assert client.get(url, headers=AUTH).status_code == 200, url  # same address, right token
    assert client.delete("/api/v1/cache/gallery/red.png", headers=AUTH).status_code == 200
    assert client.get("/api/v1/tasks", headers=wrong).status_code == 429  # guessing stays slow
    assert client.get("/api/v1/tasks").status_code == 401  # no token is no guess
    app.extensions["url_cache"].close()
