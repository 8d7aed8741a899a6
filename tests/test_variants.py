"""Variants of the local store over HTTP: sized, converted, signed, rendered once (invariant 11)."""

from __future__ import annotations

import io
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from api.app import create_app
from api.storage.local_variants import VariantRenderer

from .conftest import write_images
from .support import CountingStorage

PHOTO = "album/photo.jpg"
WIDE = "album/wide.png"
SMALL = "album/small.jpg"
BROKEN = "album/broken.jpg"
TEXT = "album/notes.txt"


def _jpeg(size: tuple[int, int], quality: int = 92) -> bytes:
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.paste((200, 40, 40), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.radial_gradient("L").resize(size).convert("RGBA").save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def photos(data_dir):
    images = {
        PHOTO: _jpeg((1600, 1000)),
        WIDE: _png((1200, 600)),
        SMALL: _jpeg((200, 100)),
        BROKEN: _jpeg((800, 600))[:600],  # truncated: a header, then nothing
        TEXT: b"not an image at all",
    }
    write_images(data_dir / "images", images)
    return images


@pytest.fixture
def renderer(settings):
    renderer = VariantRenderer(settings.variants_dir, settings.variant_cache_max_bytes, workers=2)
    yield renderer
    renderer.close()


@pytest.fixture
def vstorage(settings, renderer, photos):
    return CountingStorage(settings.images_dir, secret=settings.signing_secret, renderer=renderer)


@pytest.fixture
def vapp(settings, clock, vstorage):
    app = create_app(settings, clock=clock, storage=vstorage)
    yield app
    app.extensions["url_cache"].close()


@pytest.fixture
def vclient(vapp):
    return vapp.test_client()


def _follow(client, path: str, **headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 302, response.data
    image = client.get(response.headers["Location"])
    assert image.status_code == 200, image.data
    return response, image


def test_redirect_with_width_serves_a_smaller_image_no_wider_than_its_step(vclient, photos):
    redirect, image = _follow(vclient, f"/i/{PHOTO}?w=300")
    decoded = Image.open(io.BytesIO(image.data))
    assert decoded.width == 320  # 300 snaps up to the 320 step
    assert decoded.format == "JPEG"
    assert len(image.data) < len(photos[PHOTO])
    assert "Accept" not in redirect.headers.get("Vary", "")


def test_proxy_with_width_streams_the_same_variant(vclient, photos):
    response = vclient.get(f"/p/{PHOTO}?w=320&f=webp")
    assert response.status_code == 200, response.data
    decoded = Image.open(io.BytesIO(response.data))
    assert (decoded.format, decoded.width) == ("WEBP", 320)
    assert response.headers["Content-Type"] == "image/webp"
    assert len(response.data) < len(photos[PHOTO])


def test_auto_format_follows_accept_and_says_vary(vclient):
    redirect, image = _follow(vclient, f"/i/{PHOTO}?w=640&f=auto", Accept="image/avif,image/webp,*/*")
    assert "Accept" in redirect.headers["Vary"]
    assert Image.open(io.BytesIO(image.data)).format == "AVIF"
    _, plain = _follow(vclient, f"/i/{PHOTO}?w=640&f=auto", Accept="image/webp,*/*")
    assert Image.open(io.BytesIO(plain.data)).format == "WEBP"
    _, old = _follow(vclient, f"/i/{PHOTO}?w=640&f=auto", Accept="*/*")
    assert Image.open(io.BytesIO(old.data)).format == "JPEG"


def test_a_small_original_is_never_upscaled(vclient):
    _, image = _follow(vclient, f"/i/{SMALL}?w=1280")
    assert Image.open(io.BytesIO(image.data)).width == 200


def test_png_converts_to_jpeg_without_alpha(vclient):
    _, image = _follow(vclient, f"/i/{WIDE}?w=256&f=jpeg")
    decoded = Image.open(io.BytesIO(image.data))
    assert (decoded.format, decoded.mode, decoded.width) == ("JPEG", "RGB", 256)


@pytest.mark.parametrize("width", ["abc", "0", "-5", "100000", "1.5"])
def test_bad_widths_are_400_naming_the_parameter(vclient, vstorage, width):
    for path in (f"/i/{PHOTO}?w={width}", f"/p/{PHOTO}?w={width}"):
        response = vclient.get(path)
        assert response.status_code == 400, (path, response.data)
        assert response.json["error"]["code"] == "validation_error"
        assert response.json["error"]["message"].startswith("w:")
    response = vclient.get(f"/api/v1/urls/{PHOTO}?w={width}")
    assert response.status_code == 400 and "w" in response.json["error"]["details"]["query"]
    response = vclient.post("/api/v1/urls", json={"keys": [PHOTO], "width": width})
    assert response.status_code == 400
    assert vstorage.calls["head"] == 0  # bad input never reaches storage


def test_bad_format_is_400_naming_it(vclient):
    response = vclient.get(f"/i/{PHOTO}?w=320&f=gif")
    assert response.status_code == 400
    assert response.json["error"]["message"].startswith("f:")
    response = vclient.get(f"/api/v1/urls/{PHOTO}?f=tiff")
    assert response.status_code == 400 and "f" in response.json["error"]["details"]["query"]


def test_no_width_keeps_the_original(vclient, photos):
    response = vclient.get(f"/api/v1/urls/{PHOTO}")
    assert response.json["variant"] == "original"
    assert vclient.get(response.json["url"]).data == photos[PHOTO]


def test_variant_is_inside_the_signature(vclient):
    url = vclient.get(f"/api/v1/urls/{PHOTO}?w=320&f=webp").json["url"]
    assert vclient.get(url).status_code == 200
    tampered = url.replace("w=320", "w=2560")
    assert vclient.get(tampered).status_code == 403
    stripped = url.replace("w=320&f=webp&", "")
    assert vclient.get(stripped).status_code == 403


def test_batch_at_one_width_signs_variants_without_extra_heads(vclient, vstorage):
    keys = [PHOTO, WIDE, SMALL]
    vclient.post("/api/v1/urls", json={"keys": keys})
    heads = vstorage.calls["head"]
    body = vclient.post("/api/v1/urls", json={"keys": keys, "width": 640, "format": "webp"}).json
    assert vstorage.calls["head"] == heads  # the entry holds what a variant needs
    # the 200 px image is not upscaled: its width is known from the entry
    assert [item["variant"] for item in body["items"]] == ["w640.webp", "w640.webp", "w256.webp"]
    assert [parse_qs(urlsplit(item["url"]).query)["w"] for item in body["items"]] == [["640"], ["640"], ["256"]]


def test_variant_urls_are_stable_within_a_window(vclient, clock):
    first = vclient.get(f"/api/v1/urls/{PHOTO}?w=480&f=webp").json["url"]
    clock.advance(60)
    assert vclient.get(f"/api/v1/urls/{PHOTO}?w=480&f=webp").json["url"] == first


def test_corrupt_and_unsupported_sources_are_json_4xx(vclient):
    broken = vclient.get(f"/p/{BROKEN}?w=320")
    assert broken.status_code == 422, broken.data
    assert broken.json["error"]["code"] == "unsupported_media_type"
    _, text = vclient.get(f"/i/{TEXT}?w=320"), vclient.get(f"/p/{TEXT}?w=320")
    assert text.status_code == 415 and text.json["error"]["code"] == "unsupported_media_type"


def test_pixel_bomb_is_refused_before_decoding(settings, vstorage):
    small_limit = VariantRenderer(settings.variants_dir / "bomb", 10**9, workers=1, max_pixels=100_000)
    try:
        from api.storage import UnprocessableImage
        from api.storage.variants import Variant

        with pytest.raises(UnprocessableImage) as refused:
            small_limit.get(PHOTO, "e1", vstorage.path_of(PHOTO), Variant(320, "webp"))
        assert "100000 pixels" in refused.value.message
        assert small_limit.renders == 0
    finally:
        small_limit.close()


def test_twenty_concurrent_first_requests_render_once(vapp, renderer):
    url = vapp.test_client().get(f"/api/v1/urls/{PHOTO}?w=960&f=webp").json["url"]
    barrier = threading.Barrier(20)
    sizes: list[int] = []

    def fetch() -> None:
        client = vapp.test_client()
        barrier.wait()
        response = client.get(url)
        assert response.status_code == 200
        sizes.append(len(response.data))

    threads = [threading.Thread(target=fetch) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sizes) == 20 and len(set(sizes)) == 1
    assert renderer.renders == 1


def test_a_changed_object_is_rendered_again(vclient, vstorage, renderer, data_dir):
    first = vclient.get(f"/p/{PHOTO}?w=320").data
    (data_dir / "images" / PHOTO).write_bytes(_jpeg((1000, 1000), quality=60))
    vapp_cache = vclient.application.extensions["url_cache"]
    vapp_cache.revalidate_many([PHOTO])
    second = vclient.get(f"/p/{PHOTO}?w=320").data
    assert Image.open(io.BytesIO(second)).height == 320  # square now: a new render, not the old file
    assert first != second and renderer.renders == 2


def test_cache_folder_is_bounded_with_lru_eviction(settings, vstorage):
    from api.storage.variants import Variant

    source = vstorage.path_of(PHOTO)
    variants = [Variant(w, "png") for w in (256, 320, 480)]
    sizing = VariantRenderer(settings.variants_dir / "sizing", max_bytes=10**9, workers=1)
    sizes = [sizing.get(PHOTO, "e1", source, v).stat().st_size for v in variants]
    sizing.close()
    bound = int((sizes[0] + sizes[2]) / 0.9) + 1  # room for the first and the last, not all three
    bounded = VariantRenderer(settings.variants_dir / "bounded", max_bytes=bound, workers=1)
    try:
        first = bounded.get(PHOTO, "e1", source, variants[0])
        second = bounded.get(PHOTO, "e1", source, variants[1])
        assert bounded.get(PHOTO, "e1", source, variants[0]) == first  # a hit: now the most recent
        third = bounded.get(PHOTO, "e1", source, variants[2])
        assert sum(p.stat().st_size for p in bounded.root.glob("*/*")) <= bound
        assert first.exists() and third.exists()
        assert not second.exists()  # the least recently used went
        assert bounded.renders == 3
    finally:
        bounded.close()


def test_listing_carries_signed_variant_urls(vclient):
    body = vclient.get("/api/v1/images?prefix=album/&width=320&format=webp").json
    photo = next(item for item in body["items"] if item["key"] == PHOTO)
    assert photo["variant"] == "w320.webp"
    image = vclient.get(photo["url"])
    assert Image.open(io.BytesIO(image.data)).width == 320
    plain = vclient.get("/api/v1/images?prefix=album/").json
    assert all("url" not in item for item in plain["items"])


class MetaCountingStorage(CountingStorage):
    def image_meta(self, info):
        self.calls["image_meta"] += 1
        return super().image_meta(info)


@pytest.fixture
def mstorage(settings, renderer, photos):
    return MetaCountingStorage(settings.images_dir, secret=settings.signing_secret, renderer=renderer)


@pytest.fixture
def mclient(settings, clock, mstorage):
    app = create_app(settings, clock=clock, storage=mstorage)
    yield app.test_client()
    app.extensions["url_cache"].close()


def test_listing_and_resolve_carry_size_and_thumbhash(mclient):
    import base64

    import thumbhash

    items = {i["key"]: i for i in mclient.get("/api/v1/images?prefix=album/").json["items"]}
    photo = items[PHOTO]
    assert (photo["width"], photo["height"]) == (1600, 1000)
    hashed = list(base64.b64decode(photo["placeholder"] + "=" * (-len(photo["placeholder"]) % 4)))
    assert thumbhash.thumb_hash_to_approximate_aspect_ratio(hashed) == pytest.approx(1.6, rel=0.15)
    assert items[TEXT]["width"] is None and items[TEXT]["placeholder"] is None
    resolved = mclient.get(f"/api/v1/urls/{WIDE}").json
    assert (resolved["width"], resolved["height"]) == (1200, 600) and resolved["placeholder"]


def test_image_metadata_is_computed_once_per_version(mclient, mstorage, data_dir):
    mclient.get("/api/v1/images?prefix=album/")
    computed = mstorage.calls["image_meta"]
    assert computed == 5  # every listed object once (the text file's answer is None)
    mclient.get("/api/v1/images?prefix=album/")
    mclient.post("/api/v1/urls", json={"keys": [PHOTO, WIDE], "refresh": True})  # same etags
    assert mstorage.calls["image_meta"] == computed
    (data_dir / "images" / PHOTO).write_bytes(_jpeg((500, 900)))
    body = mclient.get("/api/v1/images?prefix=album/").json
    photo = next(i for i in body["items"] if i["key"] == PHOTO)
    assert (photo["width"], photo["height"]) == (500, 900)
    assert mstorage.calls["image_meta"] == computed + 1


def test_a_known_width_caps_the_ladder_step(mclient):
    mclient.get("/api/v1/images?prefix=album/")  # learns that SMALL is 200 px wide
    assert mclient.get(f"/api/v1/urls/{SMALL}?w=1200&f=webp").json["variant"] == "w256.webp"


def test_redis_bytes_per_image_entry_stay_small(mclient, redis_url):
    import redis

    from api.redis_keys import L2_PREFIX

    mclient.get("/api/v1/images?prefix=album/")
    client = redis.Redis.from_url(redis_url)
    assert client.memory_usage(L2_PREFIX + PHOTO) <= 320


def test_warm_renders_the_grid_widths_pages_will_ask_for(vapp, renderer):
    result = vapp.test_cli_runner().invoke(args=["warm", "--prefix", "album/", "--widths", "300,640"])
    assert result.exit_code == 0, result.output
    # photo, wide: two widths each; small (200 px): one file per capped step; broken, text: none
    assert "warmed 5 keys, 6 variants ready" in result.output
    renders = renderer.renders
    client = vapp.test_client()
    accept = {"Accept": "image/avif,image/webp,*/*"}
    for key in (PHOTO, WIDE, SMALL):
        _, image = _follow(client, f"/i/{key}?w=640&f=auto", **accept)
        assert Image.open(io.BytesIO(image.data)).format == "AVIF"
    assert renderer.renders == renders  # each was there already


def test_warm_refuses_bad_widths(vapp):
    result = vapp.test_cli_runner().invoke(args=["warm", "--prefix", "album/", "--widths", "320,abc"])
    assert result.exit_code != 0 and "--widths" in result.output


def test_json_resolve_with_auto_says_vary_accept(vclient):
    response = vclient.get(f"/api/v1/urls/{PHOTO}?w=320&f=auto", headers={"Accept": "image/webp"})
    assert response.json["variant"] == "w320.webp"
    assert "Accept" in response.headers["Vary"]
    assert "Accept" not in vclient.get(f"/api/v1/urls/{PHOTO}?w=320&f=webp").headers.get("Vary", "")
