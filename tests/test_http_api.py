"""JSON API: resolve, batch resolve, listing, errors, probes and docs."""

import pytest

from .conftest import IMAGES

KEY = "gallery/red.png"


def test_resolve_one(client, clock, settings):
    response = client.get(f"/api/v1/urls/{KEY}")
    assert response.status_code == 200
    body = response.json
    assert set(body) == {
        "key",
        "url",
        "expires_at",
        "refresh_at",
        "etag",
        "content_type",
        "size",
        "variant",
        "width",
        "height",
        "placeholder",
    }
    assert body["key"] == KEY and body["size"] == len(IMAGES[KEY])
    assert body["expires_at"] - clock() >= settings.url_min_remaining_seconds
    assert client.get(body["url"]).data == IMAGES[KEY]


def test_resolve_refresh_revalidates_with_storage(client, storage):
    client.get(f"/api/v1/urls/{KEY}")
    client.get(f"/api/v1/urls/{KEY}")
    assert storage.calls["head"] == 1
    client.get(f"/api/v1/urls/{KEY}?refresh=true")
    assert storage.calls["head"] == 2


def test_batch_resolve_reports_bad_keys_alone(client):
    response = client.post(
        "/api/v1/urls", json={"keys": [KEY, "../etc/passwd", "gallery/missing.png", 7, KEY, "gallery/green.jpg"]}
    )
    assert response.status_code == 200
    assert [item["key"] for item in response.json["items"]] == [KEY, "gallery/green.jpg"]
    errors = {str(e["key"]): e["code"] for e in response.json["errors"]}
    assert errors == {"../etc/passwd": "path_traversal", "gallery/missing.png": "not_found", "7": "invalid_key"}


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "keys"),
        ({"keys": []}, "keys"),
        ({"keys": "gallery/red.png"}, "keys"),
        ({"keys": ["k"] * 501}, "keys"),
        ({"keys": [KEY], "refresh": "maybe"}, "refresh"),
    ],
)
def test_batch_resolve_rejects_malformed_bodies(client, storage, body, field):
    response = client.post("/api/v1/urls", json=body)
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith(field)
    assert storage.total == 0


def test_batch_resolve_rejects_non_json(client):
    response = client.post("/api/v1/urls", data="keys=a", content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "validation_error"


def test_listing_pages_with_cursor(client):
    first = client.get("/api/v1/images?prefix=gallery/&limit=2").json
    assert [i["key"] for i in first["items"]] == ["gallery/blue.webp", "gallery/green.jpg"]
    second = client.get(f"/api/v1/images?prefix=gallery/&limit=2&cursor={first['next_cursor']}").json
    assert [i["key"] for i in second["items"]] == ["gallery/red.png"]
    assert second["next_cursor"] is None
    item = second["items"][0]
    assert set(item) == {"key", "size", "etag", "content_type", "last_modified", "width", "height", "placeholder"}


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "prefix=../", "prefix=%2Fetc"])
def test_listing_rejects_bad_arguments(client, query):
    response = client.get(f"/api/v1/images?{query}")
    assert response.status_code == 400
    assert response.json["error"]["message"]


def test_listing_respects_the_prefix_allow_list(make_settings, clock, storage):
    from api.app import create_app

    client = create_app(make_settings(allowed_key_prefixes=("gallery/",)), clock=clock, storage=storage).test_client()
    keys = [i["key"] for i in client.get("/api/v1/images").json["items"]]
    assert keys and all(k.startswith("gallery/") for k in keys)


@pytest.mark.parametrize(
    "method, path, status, code",
    [
        ("get", "/api/v1/nothing", 404, "not_found"),
        ("delete", "/api/v1/urls", 405, "method_not_allowed"),
        ("put", f"/i/{KEY}", 405, "method_not_allowed"),
    ],
)
def test_framework_errors_use_the_json_shape(client, method, path, status, code):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.json == {"error": {"code": code, "message": response.json["error"]["message"], "details": None}}
    assert response.headers["Cache-Control"] == "no-store"


def test_probes(client):
    assert client.get("/healthz").json == {"status": "ok", "checks": {}}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    checks = {"redis": "ok", "storage": "ok", "storage_errors": "0", "redis_topology": "standalone"}
    assert ready.json == {"status": "ok", "checks": checks}


def test_openapi_and_local_docs(client):
    spec = client.get("/openapi.json").json
    assert spec["info"]["title"] == "Image URL Cache"
    assert {"/api/v1/urls", "/api/v1/urls/{key}", "/api/v1/images", "/i/{key}", "/p/{key}"} <= set(spec["paths"])
    docs = client.get("/docs").get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in docs and "//cdn" not in docs
    asset = client.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
