"""Truth about objects: a 404 from storage, wherever it is seen (a lookup's HEAD, a GET through
`/p/` or `/objects/`, a job), replaces the cached entry by a negative one at once, so the next
resolve says 404 instead of handing out a URL to nothing until CACHE_TTL_SECONDS lapse."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from api.app import create_app

from .jobs_fixtures import AUTH, running_consumer, wait_task

KEY = "gallery/red.png"


@pytest.fixture
def other_process(settings, clock, storage):
    """A second API process on the same Redis whose in-memory tier has not seen the key (one
    that has keeps its entry at most L1_TTL_SECONDS: nothing tells other processes' L1)."""
    app = create_app(settings, clock=clock, storage=storage)
    yield app.test_client()
    app.extensions["url_cache"].close()


def assert_missing_everywhere(client, other_process, storage):
    heads = storage.calls["head"]
    for c in (client, other_process):
        for url in (f"/api/v1/urls/{KEY}", f"/i/{KEY}", f"/p/{KEY}"):
            response = c.get(url)
            assert response.status_code == 404 and response.json["error"]["code"] == "not_found", url
    batch = client.post("/api/v1/urls", json={"keys": [KEY]}).json
    assert batch["items"] == [] and batch["errors"][0]["code"] == "not_found"
    assert storage.calls["head"] == heads  # the negative entry answered, not storage


def test_a_404_on_the_proxy_replaces_the_entry(client, other_process, storage, data_dir):
    assert client.get(f"/api/v1/urls/{KEY}").status_code == 200  # cached in L1 and L2
    (data_dir / "images" / KEY).unlink()
    response = client.get(f"/p/{KEY}")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert_missing_everywhere(client, other_process, storage)


def test_a_404_on_a_self_served_signed_url_replaces_the_entry(client, other_process, storage, data_dir):
    url = urlsplit(client.get(f"/api/v1/urls/{KEY}").json["url"])
    (data_dir / "images" / KEY).unlink()
    response = client.get(url.path, query_string=url.query)
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert_missing_everywhere(client, other_process, storage)


def test_a_404_in_a_refresh_job_replaces_the_entry(make_japp, make_settings, clock, data_dir, storage):
    japp = make_japp(negative_ttl_seconds=600)  # the worker's process, its own store client
    web = create_app(make_settings(negative_ttl_seconds=600, l1_ttl_seconds=30), clock=clock, storage=storage)
    try:
        client = web.test_client()
        assert client.get(f"/api/v1/urls/{KEY}").status_code == 200
        (data_dir / "images" / KEY).unlink()
        jclient = japp.test_client()
        response = jclient.post("/api/v1/tasks/refresh", json={"image_key": KEY}, headers=AUTH)
        with running_consumer():
            task = wait_task(jclient, response.json["task_id"])
        assert task["status"] == "failed" and task["error"].startswith("not_found:")
        fresh = create_app(make_settings(negative_ttl_seconds=600), clock=clock, storage=storage)
        assert fresh.test_client().get(f"/api/v1/urls/{KEY}").status_code == 404
        fresh.extensions["url_cache"].close()
        clock.advance(31)  # the web process's in-memory entry lapses (L1_TTL_SECONDS): L2 says 404
        assert client.get(f"/i/{KEY}").status_code == 404
        assert storage.calls["head"] == 1  # only the first resolve: both 404s came from the cache
    finally:
        web.extensions["url_cache"].close()
