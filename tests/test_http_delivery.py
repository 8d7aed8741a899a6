"""Redirect, proxy and local signed URLs over HTTP (invariants 1, 3, 8)."""

from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import IMAGES

KEY = "gallery/red.png"
DATA = IMAGES[KEY]


def location(client, key=KEY):
    response = client.get(f"/i/{key}")
    assert response.status_code == 302, response.data
    return response.headers["Location"]


def test_redirect_points_at_a_working_signed_url(client):
    response = client.get(location(client))
    assert response.status_code == 200
    assert response.mimetype.startswith("image/")
    assert response.data == DATA


def test_redirect_cache_ends_no_later_than_the_window(client, clock, app):
    response = client.get(f"/i/{KEY}")
    resolved = app.extensions["url_cache"].resolve(KEY)
    directive = response.headers["Cache-Control"]
    assert directive.startswith("private, max-age=")
    assert clock() + int(directive.split("=")[1]) <= resolved.refresh_at


def test_redirect_location_is_stable_within_a_window(client, clock):
    first = location(client)
    clock.advance(60)
    assert location(client) == first


def test_redirect_of_missing_key_is_an_uncached_json_404(client):
    response = client.get("/i/gallery/missing.png")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert response.headers["Cache-Control"] == "no-store"


def test_redirect_never_leaves_the_configured_store(client):
    url = location(client)
    assert url.startswith("/objects/")  # relative: same origin for the local store


def test_tampered_signature_is_403_and_expired_is_410(client, clock):
    url = location(client)
    query = parse_qs(urlsplit(url).query)
    tampered = url.replace(query["sig"][0], query["sig"][0][::-1])
    assert client.get(tampered).status_code == 403
    other_key = url.replace("/objects/gallery/red.png", "/objects/gallery/green.jpg")
    assert client.get(other_key).status_code == 403
    longer = url.replace(f"exp={query['exp'][0]}", f"exp={int(query['exp'][0]) + 3600}")
    assert client.get(longer).status_code == 403
    clock.now = int(query["exp"][0])
    expired = client.get(url)
    assert expired.status_code == 410
    assert expired.json["error"]["code"] == "signature_expired"


def test_signed_object_supports_range_and_conditional_get(client):
    url = location(client)
    partial = client.get(url, headers={"Range": "bytes=8-15"})
    assert partial.status_code == 206
    assert partial.data == DATA[8:16]
    assert partial.headers["Content-Range"] == f"bytes 8-15/{len(DATA)}"
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_proxy_streams_bytes_with_safe_headers(client):
    response = client.get(f"/p/{KEY}")
    assert response.status_code == 200
    assert response.data == DATA
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "Origin" in response.headers["Vary"]


def test_proxy_range_gives_exact_bytes(client):
    response = client.get(f"/p/{KEY}", headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert response.data == DATA[100:200]
    suffix = client.get(f"/p/{KEY}", headers={"Range": "bytes=-10"})
    assert suffix.status_code == 206 and suffix.data == DATA[-10:]
    beyond = client.get(f"/p/{KEY}", headers={"Range": f"bytes={len(DATA) + 5}-"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(DATA)}"


def test_proxy_if_none_match_is_304_without_touching_storage(client, storage):
    etag = client.get(f"/p/{KEY}").headers["ETag"]
    opens = storage.calls["open"]
    response = client.get(f"/p/{KEY}", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert storage.calls["open"] == opens


def test_proxy_if_range_mismatch_sends_everything(client):
    response = client.get(f"/p/{KEY}", headers={"Range": "bytes=0-9", "If-Range": '"other-version"'})
    assert response.status_code == 200 and response.data == DATA


def test_proxy_versioned_by_etag_is_cached_for_good(client):
    etag = client.get(f"/p/{KEY}").headers["ETag"]
    versioned = client.get(f"/p/{KEY}", query_string={"v": etag.strip('"')})
    assert "immutable" in versioned.headers["Cache-Control"]
    assert "immutable" not in client.get(f"/p/{KEY}", query_string={"v": "stale"}).headers["Cache-Control"]


def test_cors_allows_configured_origins_only(make_settings, clock, storage):
    from api.app import create_app

    client = create_app(
        make_settings(cors_origins=("https://app.example",)), clock=clock, storage=storage
    ).test_client()
    allowed = client.get(f"/p/{KEY}", headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    denied = client.get(f"/p/{KEY}", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers
    assert "Origin" in denied.headers["Vary"]


@pytest.mark.parametrize("path", ["/i/", "/p/", "/api/v1/urls/"])
@pytest.mark.parametrize(
    "key, code",
    [
        ("gallery/../private/secret.png", "path_traversal"),
        ("gallery/%2e%2e/private/secret.png", "path_traversal"),
        ("gallery/%252e%252e/private/secret.png", "path_traversal"),
        ("/etc/passwd", "absolute_key"),
        ("gallery/a%00.png", "control_character"),
        ("a" * 851, "key_too_long"),
    ],
)
def test_bad_keys_get_400_and_never_reach_storage(client, storage, path, key, code):
    response = client.get(path + key)
    assert response.status_code == 400
    assert response.json["error"]["code"] == code
    assert response.headers["Cache-Control"] == "no-store"
    assert storage.total == 0


def test_keys_outside_the_allowed_prefixes_are_400(make_settings, clock, storage):
    from api.app import create_app

    client = create_app(make_settings(allowed_key_prefixes=("gallery/",)), clock=clock, storage=storage).test_client()
    assert client.get(f"/i/{KEY}").status_code == 302
    response = client.get("/i/private/secret.png")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "prefix_not_allowed"
    assert storage.calls["head"] == 1
