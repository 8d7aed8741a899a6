"""COS variants: a 数据万象 rule in the URL, covered by the signature (invariant 11)."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from PIL import Image

from api.storage import Capability
from api.storage.variants import Variant, cos_rule

from .cos_server import cos_settings_for, cos_storage_for
from .support import fetch

KEY = "gallery/photo.jpg"
VARIANT = Variant(320, "webp")


def _jpeg(width: int, height: int, orientation: int = 1) -> bytes:
    """A real photo-sized JPEG: the test server renders rules with Pillow, as 数据万象 would."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


DATA = _jpeg(800, 600)


@pytest.fixture
def storage(cos_server):
    cos_server.put(KEY, DATA, "image/jpeg")
    return cos_storage_for(cos_server)


def _window() -> tuple[int, int]:
    now = int(time.time())
    return now - 60, now + 3600


def test_the_rule_is_in_the_url_and_in_the_signed_parameter_list(storage):
    url = storage.sign_variant(KEY, VARIANT, *_window())
    assert Capability.VARIANTS in storage.capabilities
    assert url.endswith("&imageMogr2/thumbnail/320x/format/webp")
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    assert query["q-url-param-list"] == "imagemogr2%2fthumbnail%2f320x%2fformat%2fwebp"
    status, body = fetch(url)
    assert status == 200  # the test server accepts it and renders the rule
    with Image.open(io.BytesIO(body)) as variant:
        assert (variant.format, variant.width, variant.height) == ("WEBP", 320, 240)


def test_a_changed_or_stripped_rule_is_refused(storage):
    url = storage.sign_variant(KEY, VARIANT, *_window())
    status, body = fetch(url.replace("320x", "2560x"))
    assert status == 403
    status, body = fetch(url.removesuffix("&imageMogr2/thumbnail/320x/format/webp"))
    assert status == 403 and b"not in the request" in body


def test_a_rule_added_to_an_original_url_is_refused(storage):
    url = storage.sign(KEY, *_window())
    assert fetch(url)[0] == 200
    status, body = fetch(url + "&imageMogr2/thumbnail/64x")
    assert status == 403 and b"is not signed" in body


def test_rules_for_each_format():
    assert cos_rule(Variant(640, "jpeg")) == "imageMogr2/thumbnail/640x/format/jpg"
    assert cos_rule(Variant(None, "avif")) == "imageMogr2/format/avif"
    assert cos_rule(Variant(128, "original")) == "imageMogr2/thumbnail/128x"
    assert cos_rule(Variant(None, "original")) == ""


def test_variant_urls_are_byte_identical_across_processes(cos_server, storage):
    start, expires = 1_800_000_000, 1_800_007_200
    mine = storage.sign_variant(KEY, VARIANT, start, expires)
    settings = cos_settings_for(cos_server)
    script = (
        "import sys; from api.settings import Settings; from api.storage.cos import CosStorage; "
        "from api.storage.variants import Variant; "
        f"s = Settings.from_env({{}}, storage_backend='cos', cos_secret_id={settings.cos_secret_id!r}, "
        f"cos_secret_key={settings.cos_secret_key!r}, cos_bucket={settings.cos_bucket!r}, "
        f"cos_region={settings.cos_region!r}, cos_scheme='http', cos_endpoint={settings.cos_endpoint!r}, "
        f"cos_domain={settings.cos_domain!r}); "
        f"print(CosStorage.from_settings(s).sign_variant({KEY!r}, Variant(320, 'webp'), {start}, {expires}))"
    )
    theirs = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    assert theirs == mine


def test_resolve_with_a_width_signs_the_variant_through_the_cache(cos_server, make_settings, clock):
    from api.services import build_services

    settings = make_settings(**{k: getattr(cos_settings_for(cos_server), k) for k in _COS_FIELDS})
    cos_server.put(KEY, DATA, "image/jpeg")
    services = build_services(settings, clock=clock)
    try:
        from api.storage.variants import VariantRequest

        plain = services.cache.resolve(KEY)
        calls = cos_server.count("HEAD")
        sized = services.cache.resolve(KEY, want=(VariantRequest(300, "auto"), "image/webp,*/*"))
        assert cos_server.count("HEAD") == calls  # no extra HEAD for a variant
        assert sized.variant == "w320.webp" and "imageMogr2/thumbnail/320x/format/webp" in sized.url
        assert sized.expires_at == plain.expires_at and sized.etag == plain.etag
    finally:
        services.close()


_COS_FIELDS = (
    "storage_backend",
    "cos_secret_id",
    "cos_secret_key",
    "cos_bucket",
    "cos_region",
    "cos_scheme",
    "cos_endpoint",
    "cos_domain",
)


def test_with_cdn_url_authentication_the_original_is_served(cos_server, settings, clock):
    from api.cache.url_cache import UrlCache
    from api.storage.variants import VariantRequest

    from .test_cdn_auth import cdn_storage

    cdn = cdn_storage(cos_server)
    assert Capability.VARIANTS not in cdn.capabilities  # the CDN's signature covers the path only
    cos_server.put(KEY, DATA, "image/jpeg")
    cache = UrlCache(cdn, None, settings, clock=clock)
    try:
        resolved = cache.resolve(KEY, want=(VariantRequest(320, "webp"), ""))
        assert resolved.variant == "original" and "imageMogr2" not in resolved.url
        assert resolved.url == cache.resolve(KEY).url
    finally:
        cache.close()


def test_proxy_with_a_width_streams_the_variant_the_store_renders(cos_server, storage, settings, clock):
    from api.app import create_app

    app = create_app(settings, clock=clock, storage=storage)
    try:
        client = app.test_client()
        response = client.get(f"/p/{KEY}?w=320&f=webp")
        assert response.status_code == 200 and response.mimetype == "image/webp"
        with Image.open(io.BytesIO(response.data)) as variant:
            assert variant.width == 320
        assert response.headers["ETag"] != client.get(f"/p/{KEY}").headers["ETag"]
        redirect = client.get(f"/i/{KEY}?w=320&f=webp")
        assert "imageMogr2/thumbnail/320x/format/webp" in redirect.headers["Location"]
        cos_server.put("gallery/broken.jpg", b"not a jpeg", "image/jpeg")
        broken = client.get("/p/gallery/broken.jpg?w=320&f=webp")
        assert broken.status_code == 415 and broken.json["error"]["code"] == "unsupported_media_type"
    finally:
        app.extensions["url_cache"].close()


def test_image_metadata_comes_from_image_info_and_a_tiny_upright_thumbnail(cos_server, storage):
    from api.storage.image_meta import NOT_AN_IMAGE

    assert Capability.IMAGE_META in storage.capabilities
    meta = storage.image_meta(storage.head(KEY))
    assert (meta.width, meta.height) == (800, 600) and len(meta.placeholder) > 10
    cos_server.put("gallery/turned.jpg", _jpeg(800, 600, orientation=6), "image/jpeg")  # shown 90° turned
    turned = storage.image_meta(storage.head("gallery/turned.jpg"))
    assert (turned.width, turned.height) == (600, 800)
    gets = cos_server.count("GET")
    cos_server.put("gallery/broken.jpg", b"not a jpeg", "image/jpeg")
    assert storage.image_meta(storage.head("gallery/broken.jpg")) == NOT_AN_IMAGE
    cos_server.put("gallery/notes.txt", b"text", "text/plain")
    assert storage.image_meta(storage.head("gallery/notes.txt")) == NOT_AN_IMAGE
    assert cos_server.count("GET") == gets + 1  # a text object is not even asked about
