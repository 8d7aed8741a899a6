"""index.html carries the gallery's first page: listing plus signed URLs of one grid width."""

from __future__ import annotations

import html
import io
import json
import re

import pytest
from PIL import Image

from api.app import create_app
from api.http.web import FIRST_PAGE_ID, FIRST_PAGE_PRELOADS, _script

from .test_variants import PHOTO, photos, renderer, vstorage  # noqa: F401 - fixtures

INDEX = '<!doctype html><html><head><title>t</title></head><body><div id="app"></div></body></html>'


@pytest.fixture
def dist(tmp_path):
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "app-3f2a.js").write_text("console.log(1)")
    return root


def _client(settings, clock, storage, dist):
    app = create_app(settings, clock=clock, storage=storage)
    app.config["WEB_DIST"] = dist
    return app


@pytest.fixture
def web(settings, clock, vstorage, dist):  # noqa: F811
    app = _client(settings, clock, vstorage, dist)
    yield app.test_client()
    app.extensions["url_cache"].close()


def _embedded(response) -> dict | None:
    match = re.search(rf'<script type="application/json" id="{FIRST_PAGE_ID}">(.*?)</script>', response.text)
    return json.loads(match.group(1)) if match else None


def test_index_embeds_the_first_page_with_variant_urls(web):
    response = web.get("/?prefix=album/", headers={"Accept": "text/html,image/avif,image/webp,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Accept" in response.headers["Vary"]
    page = _embedded(response)
    assert page is not None and page["prefix"] == "album/" and page["width"] == 480
    photo = next(item for item in page["listing"]["items"] if item["key"] == PHOTO)
    assert photo["variant"] == "w480.avif" and (photo["width"], photo["height"]) == (1600, 1000)
    image = web.get(photo["url"])
    assert image.status_code == 200
    assert Image.open(io.BytesIO(image.data)).size == (480, 300)


def test_the_embedded_page_is_what_the_listing_returns(web):
    page = _embedded(web.get("/?prefix=album/", headers={"Accept": "image/webp"}))
    listing = web.get("/api/v1/images?prefix=album/&limit=60&width=480&format=auto", headers={"Accept": "image/webp"})
    assert page["listing"] == listing.json


def test_other_routes_and_bad_prefixes_get_plain_html(web):
    assert _embedded(web.get("/admin")) is None
    bad = web.get("/?prefix=../etc")
    assert bad.status_code == 200 and _embedded(bad) is None


def test_first_page_can_be_turned_off(make_settings, clock, vstorage, dist):  # noqa: F811
    app = _client(make_settings(first_page_limit=0), clock, vstorage, dist)
    try:
        assert _embedded(app.test_client().get("/")) is None
    finally:
        app.extensions["url_cache"].close()


def test_hashed_assets_stay_immutable(web):
    response = web.get("/assets/app-3f2a.js")
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_embedded_json_cannot_close_its_element():
    script = _script({"key": "a</script><script>alert(1)</script>&"})
    assert script.count("</script>") == 1 and "<script>" not in script.removeprefix("<script")
    inner = script.split(">", 1)[1].rsplit("</script>", 1)[0]
    assert json.loads(inner) == {"key": "a</script><script>alert(1)</script>&"}


def test_the_first_page_names_the_ladder_and_preloads_its_first_images(web):
    response = web.get("/?prefix=album/", headers={"Accept": "text/html,image/webp,*/*;q=0.8"})
    page = _embedded(response)
    assert page is not None and page["widths"] == list(web.application.extensions["settings"].variant_widths)
    preloads = re.findall(r'<link rel="preload" as="image" href="([^"]+)" fetchpriority="high">', response.text)
    images = [item for item in page["listing"]["items"] if item["width"]]
    assert len(images) < len(page["listing"]["items"])  # the broken file is listed, not preloaded
    assert preloads and len(preloads) <= FIRST_PAGE_PRELOADS
    # The very URLs the grid's first cells use (HTML-escaped in the attribute), in listing order.
    assert [html.unescape(url) for url in preloads] == [item["url"] for item in images][: len(preloads)]
    assert response.text.index('rel="preload"') < response.text.index("</head>")
    for url in preloads:
        assert web.get(html.unescape(url)).status_code == 200


def test_no_preload_without_a_first_page(web):
    assert 'rel="preload"' not in web.get("/admin").text
    assert 'rel="preload"' not in web.get("/?prefix=../etc").text
