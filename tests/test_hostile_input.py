"""Hostile input, one table: every crafted request gets its 4xx JSON error and never reaches
storage (invariant 7). Storage calls are counted by the real local adapter (CountingStorage).

The app runs with a prefix allow-list (`gallery/`) and a small body limit, so those rows are
in the same table; every other row uses keys under `gallery/` so only its own defect fails it.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest

from api.app import create_app

BODY_LIMIT = 8192
ADMIN = {"Authorization": "Bearer test-admin-token"}
KEY_ROUTES = ("/i/", "/p/", "/objects/", "/api/v1/urls/")
COMBINING = quote("\u0301" * 150)  # one 300-byte path segment: over a filesystem's 255-byte name limit
SIGNED = "/objects/gallery/red.png?exp={exp}&sig={sig}"
GOOD_SIG = "A" * 43


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: str
    status: int
    code: str | tuple[str, ...]  # a tuple: the per-key codes of a batch answer (200)
    body: bytes | None = None
    headers: dict = field(default_factory=dict)


def key_cases(name: str, raw_key: str, code: str) -> list[Case]:
    """The same bad key on every route that takes one in its path."""
    return [Case(f"{name} {route}", "GET", route + raw_key, 400, code) for route in KEY_ROUTES]


def json_case(name: str, url: str, text: str | bytes, status: int, code, headers=None) -> Case:
    body = text if isinstance(text, bytes) else text.encode()
    return Case(name, "POST", url, status, code, body, {"Content-Type": "application/json", **(headers or {})})


CASES = [
    # percent-decoding must give UTF-8: %ff and %fe would both become U+FFFD, one key
    *key_cases("invalid utf-8 %ff", "gallery/x%ff.jpg", "invalid_encoding"),
    *key_cases("invalid utf-8 %fe", "gallery/x%fe.jpg", "invalid_encoding"),
    *key_cases("truncated utf-8", "gallery/x%c3.jpg", "invalid_encoding"),
    *key_cases("utf-16 surrogate as utf-8", "gallery/x%ed%a0%80.jpg", "invalid_encoding"),
    Case("invalid utf-8 in listing prefix", "GET", "/api/v1/images?prefix=gallery/%ff", 400, "invalid_encoding"),
    Case("invalid utf-8 in a query argument", "GET", "/i/gallery/red.png?v=%fe", 400, "invalid_encoding"),
    # control characters: CRLF, NUL, DEL, C1 (also once percent-decoded inside the key)
    *key_cases("CRLF", "gallery/a%0d%0ab.png", "control_character"),
    *key_cases("NUL", "gallery/a%00b.png", "control_character"),
    *key_cases("DEL", "gallery/a%7fb.png", "control_character"),
    *key_cases("C1 NEL", "gallery/a%c2%85b.png", "control_character"),
    *key_cases("tab", "gallery/a%09b.png", "control_character"),
    *key_cases("control once decoded", "gallery/a%250ab.png", "control_character"),
    Case("CRLF in listing prefix", "GET", "/api/v1/images?prefix=gallery/%0d%0a", 400, "control_character"),
    # length: 850 bytes per key, and no segment longer than the store can name
    *key_cases("over 850 bytes", "gallery/" + "a" * 843, "key_too_long"),
    *key_cases("over 850 bytes in 2-byte characters", "gallery/" + quote("é" * 422), "key_too_long"),
    *key_cases("segment over the name limit", "gallery/" + COMBINING, "key_too_long"),
    # leading '/' and '\'
    *key_cases("leading slash", "/gallery/red.png", "absolute_key"),
    *key_cases("leading encoded slash", "%2Fgallery/red.png", "absolute_key"),
    *key_cases("leading backslash", "%5Cgallery/red.png", "absolute_key"),
    Case("leading slash in listing prefix", "GET", "/api/v1/images?prefix=/gallery", 400, "absolute_key"),
    # '.' and '..' segments, as sent, decoded once, decoded twice, with backslashes
    *key_cases("dot-dot encoded", "gallery/%2e%2e/private/secret.png", "path_traversal"),
    *key_cases("dot segment encoded", "gallery/%2e/red.png", "path_traversal"),
    *key_cases("dot-dot decoded once", "gallery/%252e%252e/private/secret.png", "path_traversal"),
    *key_cases("dot-dot decoded twice", "gallery/%25252e%25252e/private/secret.png", "path_traversal"),
    *key_cases("dot-dot encoded slash", "gallery/..%2fprivate/secret.png", "path_traversal"),
    *key_cases("dot-dot backslash", "gallery/..%5cprivate/secret.png", "path_traversal"),
    Case("dot-dot in listing prefix", "GET", "/api/v1/images?prefix=gallery/%2e%2e/", 400, "path_traversal"),
    # the prefix allow-list
    *key_cases("outside the allow-list", "private/secret.png", "prefix_not_allowed"),
    # /objects/ parses exp (ASCII digits) and sig (base64url, 43 characters) strictly
    Case("exp superscript two", "GET", SIGNED.format(exp="%C2%B2", sig=GOOD_SIG), 403, "signature_invalid"),
    Case("exp arabic-indic digits", "GET", SIGNED.format(exp="%D9%A1%D9%A2", sig=GOOD_SIG), 403, "signature_invalid"),
    Case("exp negative", "GET", SIGNED.format(exp="-1", sig=GOOD_SIG), 403, "signature_invalid"),
    Case("exp 40 digits", "GET", SIGNED.format(exp="9" * 40, sig=GOOD_SIG), 403, "signature_invalid"),
    Case("exp missing", "GET", "/objects/gallery/red.png?sig=" + GOOD_SIG, 403, "signature_invalid"),
    Case("sig non-ascii", "GET", SIGNED.format(exp="1900000000", sig="%C3%A9"), 403, "signature_invalid"),
    Case("sig too short", "GET", SIGNED.format(exp="1900000000", sig="A" * 42), 403, "signature_invalid"),
    Case("sig standard base64", "GET", SIGNED.format(exp="1900000000", sig="A" * 42 + "%2B"), 403, "signature_invalid"),
    Case("sig wrong", "GET", SIGNED.format(exp="1900000000", sig=GOOD_SIG), 403, "signature_invalid"),
    # JSON bodies: strict JSON, bounded depth and size, the batch cap
    json_case("nested 1000 deep", "/api/v1/urls", "[" * 1000 + "]" * 1000, 400, "validation_error"),
    json_case("4000 unclosed brackets", "/api/v1/urls", "[" * 4000, 400, "validation_error"),
    json_case("nested 33 deep", "/api/v1/urls", '{"keys": ' + "[" * 32 + "]" * 32 + "}", 400, "validation_error"),
    json_case("NaN", "/api/v1/urls", '{"keys": [NaN]}', 400, "validation_error"),
    json_case(
        "Infinity", "/api/v1/urls", '{"keys": ["gallery/red.png"], "refresh": Infinity}', 400, "validation_error"
    ),
    json_case("-Infinity", "/api/v1/urls", '{"keys": [-Infinity]}', 400, "validation_error"),
    json_case("float overflow", "/api/v1/urls", '{"keys": [1e999]}', 400, "validation_error"),
    json_case("65-digit integer", "/api/v1/urls", '{"keys": [' + "7" * 65 + "]}", 400, "validation_error"),
    json_case("5000-digit integer", "/api/v1/urls", '{"keys": [' + "7" * 5000 + "]}", 400, "validation_error"),
    json_case("body not utf-8", "/api/v1/urls", b'{"keys": ["gallery/\xff.png"]}', 400, "invalid_encoding"),
    json_case("not JSON", "/api/v1/urls", "keys=gallery/red.png", 400, "validation_error"),
    json_case("over the batch cap", "/api/v1/urls", json.dumps({"keys": ["gallery/a"] * 501}), 400, "validation_error"),
    json_case(
        "body over MAX_CONTENT_LENGTH",
        "/api/v1/urls",
        json.dumps({"keys": ["g" * BODY_LIMIT]}),
        413,
        "request_entity_too_large",
    ),
    Case(
        "text body over MAX_CONTENT_LENGTH",
        "POST",
        "/api/v1/urls",
        413,
        "request_entity_too_large",
        b"x" * (BODY_LIMIT + 1),
        {"Content-Type": "text/plain"},
    ),
    json_case("NaN to an admin task", "/api/v1/tasks/refresh", '{"image_key": NaN}', 400, "validation_error", ADMIN),
    json_case("deep body to an admin task", "/api/v1/tasks/batch-refresh", "[" * 1000, 400, "validation_error", ADMIN),
    json_case(
        "CRLF key to an admin task",
        "/api/v1/tasks/refresh",
        '{"image_key": "gallery/a\\r\\nb"}',
        400,
        "control_character",
        ADMIN,
    ),
    # keys inside a batch fail alone, each with its reason, none reaching storage
    json_case(
        "bad keys inside a batch",
        "/api/v1/urls",
        json.dumps(
            [
                "gallery/a\r\nb",
                "/gallery/x",
                "gallery/../x",
                "gallery/\udcff",
                "gallery/" + "\u0301" * 150,
                "private/secret.png",
                "",
                7,
            ]
        ).join(['{"keys": ', "}"]),
        200,
        (
            "control_character",
            "absolute_key",
            "path_traversal",
            "invalid_encoding",
            "key_too_long",
            "prefix_not_allowed",
            "empty_key",
            "invalid_key",
        ),
    ),
]


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory, redis_server):
    """One app for the whole table (with a clean store per row: see `client`)."""
    from api.settings import Settings

    from .conftest import IMAGES, T0, write_images
    from .support import CountingStorage

    data_dir = tmp_path_factory.mktemp("hostile")
    write_images(data_dir / "images", IMAGES)
    settings = Settings.from_env(
        {},
        data_dir=data_dir,
        redis_url=redis_server,
        local_signing_secret="test-signing-secret",
        admin_token="test-admin-token",
        allowed_key_prefixes=("gallery/",),
        max_content_length=BODY_LIMIT,
        rate_limit_enabled=False,
        access_flush_seconds=3600.0,
    )
    from api.clock import ManualClock

    storage = CountingStorage(settings.images_dir, secret=settings.signing_secret)
    app = create_app(settings, clock=ManualClock(T0), storage=storage)
    yield app
    app.extensions["url_cache"].close()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_request_gets_its_error_and_never_reaches_storage(hostile_app, case: Case):
    storage = hostile_app.extensions["storage"]
    storage.calls.clear()
    response = hostile_app.test_client().open(case.url, method=case.method, data=case.body, headers=case.headers)
    assert response.status_code == case.status, response.get_data(as_text=True)[:300]
    assert response.is_json  # never bare `NaN`, never an HTML error page
    body = json.loads(response.get_data(as_text=True), parse_constant=lambda name: pytest.fail(f"bare {name}"))
    if isinstance(case.code, tuple):
        assert body["items"] == []
        assert [error["code"] for error in body["errors"]] == list(case.code)
    else:
        assert body["error"]["code"] == case.code
        assert body["error"]["message"]
        assert response.headers["Cache-Control"] == "no-store"
    assert storage.total == 0, dict(storage.calls)


def test_keys_differing_only_in_invalid_bytes_do_not_collide(hostile_app):
    """%ff and %fe used to decode to the same U+FFFD key; now neither names a key at all."""
    client = hostile_app.test_client()
    codes = {client.get(f"/api/v1/urls/gallery/x{byte}.jpg").json["error"]["code"] for byte in ("%ff", "%fe")}
    assert codes == {"invalid_encoding"}


def test_a_literal_replacement_character_is_still_a_key(hostile_app):
    """U+FFFD sent as proper UTF-8 is a valid (missing) key: only undecodable bytes are refused."""
    response = hostile_app.test_client().get("/api/v1/urls/gallery/x%EF%BF%BD.jpg")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("size, status", [(BODY_LIMIT + 1, 413), (10 * BODY_LIMIT, 413)])
def test_a_streamed_body_over_the_limit_is_refused(hostile_app, size, status):
    """Chunked bodies carry no Content-Length: the limit holds on what is read."""
    hostile_app.extensions["storage"].calls.clear()
    body = ('{"keys": ["gallery/' + "a" * size + '"]}').encode()
    response = hostile_app.test_client().post(
        "/api/v1/urls",
        input_stream=io.BytesIO(body),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn says of chunked bodies
    )
    assert response.status_code == status and response.json["error"]["code"] == "request_entity_too_large"
    assert hostile_app.extensions["storage"].total == 0


def test_a_streamed_body_within_the_limit_is_read_whole(hostile_app):
    body = json.dumps({"keys": ["gallery/red.png"], "pad": "x" * (BODY_LIMIT - 60)}).encode()
    response = hostile_app.test_client().post(
        "/api/v1/urls",
        input_stream=io.BytesIO(body),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 200 and [i["key"] for i in response.json["items"]] == ["gallery/red.png"]
