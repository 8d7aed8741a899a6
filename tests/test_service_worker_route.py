"""`/sw.js`: the image service worker as the browser must get it (JavaScript, revalidated at
every update check, under a policy of its own), the page told to register it, and both turned
off by SERVICE_WORKER=false."""

from __future__ import annotations

import pytest

from api.app import create_app

INDEX = '<!doctype html><html><head><title>t</title></head><body><div id="app"></div></body></html>'
SCRIPT = "self.addEventListener('fetch', () => {})"


@pytest.fixture
def dist(tmp_path):
    root = tmp_path / "dist"
    root.mkdir()
    (root / "index.html").write_text(INDEX)
    (root / "sw.js").write_text(SCRIPT)
    return root


def _client(settings, clock, dist):
    app = create_app(settings, clock=clock)
    app.config["WEB_DIST"] = dist
    return app


@pytest.fixture
def web(make_settings, clock, dist):
    app = _client(make_settings(), clock, dist)
    yield app.test_client()
    app.extensions["url_cache"].close()


def test_the_worker_is_javascript_revalidated_at_every_update_check(web):
    response = web.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.text == SCRIPT
    revalidated = web.get("/sw.js", headers={"If-None-Match": response.headers["ETag"]})
    assert revalidated.status_code == 304


def test_the_worker_runs_under_its_own_policy_and_pages_allow_it(web):
    worker = web.get("/sw.js").headers["Content-Security-Policy"]
    # Not the sandboxed policy of other non-page responses: the worker fetches images and JSON.
    assert worker == "default-src 'none'; connect-src 'self'"
    page = web.get("/admin").headers["Content-Security-Policy"]
    assert "worker-src 'self'" in page.split("; ")


def test_every_page_says_to_register_it(web):
    for path in ("/", "/admin"):
        assert '<meta name="service-worker" content="on">' in web.get(path).text


def test_turned_off_the_script_is_gone_and_pages_say_to_remove_it(make_settings, clock, dist):
    app = _client(make_settings(service_worker=False), clock, dist)
    try:
        client = app.test_client()
        missing = client.get("/sw.js")
        assert missing.status_code == 404 and missing.is_json
        assert '<meta name="service-worker" content="off">' in client.get("/").text
    finally:
        app.extensions["url_cache"].close()


def test_a_build_without_the_worker_answers_404(make_settings, clock, dist):
    (dist / "sw.js").unlink()
    app = _client(make_settings(), clock, dist)
    try:
        assert app.test_client().get("/sw.js").status_code == 404
    finally:
        app.extensions["url_cache"].close()
