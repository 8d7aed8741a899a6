"""Two API nodes on one Redis (two apps, each with its own L1, storage adapter and listener):
identical redirects, flushes and changed etags reach the other node's L1, and concurrent misses
across both make one storage call.

The one time check is the promise: an invalidation reaches the other node within 1 s.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from api.app import create_app

from .support import CountingStorage

KEY = "gallery/red.png"
PROPAGATION = 1.0


def _node(settings):
    storage = CountingStorage(settings.images_dir, secret=settings.signing_secret)
    app = create_app(settings, storage=storage)
    cache = app.extensions["url_cache"]
    cache.bus.start()
    assert cache.bus.subscribed.wait(5), "the node never subscribed to invalidations"
    return app, cache, storage


@pytest.fixture
def nodes(make_settings):
    settings = make_settings(single_flight_wait_seconds=5.0)
    a, b = _node(settings), _node(settings)
    yield a, b
    for _, cache, _ in (a, b):
        cache.close()


def _until_gone(cache, key: str) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < 5:
        if cache.memory.get(key) is None:
            return time.monotonic() - start
        time.sleep(0.002)
    return None


def test_both_nodes_redirect_to_the_same_location(nodes):
    (a, _, _), (b, _, _) = nodes
    first = a.test_client().get(f"/i/{KEY}")
    second = b.test_client().get(f"/i/{KEY}")
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]


@pytest.mark.parametrize("flush", [{"key": KEY}, {"prefix": "gallery/"}, {}])
def test_a_flush_on_one_node_reaches_the_other_nodes_memory(nodes, flush):
    (_, cache_a, _), (_, cache_b, _) = nodes
    cache_b.resolve(KEY)
    assert cache_b.memory.get(KEY) is not None
    cache_a.invalidate(**flush)
    seconds = _until_gone(cache_b, KEY)
    print(f"\ninvalidation {flush or 'all'} reached the other node after {seconds}")
    assert seconds is not None and seconds < PROPAGATION


def test_a_refresh_that_changes_the_etag_reaches_the_other_node(nodes, settings):
    (_, cache_a, _), (_, cache_b, _) = nodes
    old = cache_b.resolve(KEY).etag
    path = settings.images_dir / KEY
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a new etag
    assert cache_a.resolve(KEY, refresh=True).etag != old
    assert _until_gone(cache_b, KEY) is not None
    assert cache_b.resolve(KEY).etag != old  # read again, from L2: the new object


def test_an_unchanged_refresh_leaves_other_nodes_alone(nodes):
    (_, cache_a, _), (_, cache_b, _) = nodes
    cache_b.resolve(KEY)
    cache_a.resolve(KEY, refresh=True)
    cache_a.invalidate(key="gallery/other.png")  # a later message, so the first had its chance
    assert _until_gone(cache_b, "gallery/other.png") is not None
    assert cache_b.memory.get(KEY) is not None


def test_concurrent_misses_across_nodes_make_one_storage_call(nodes):
    (_, cache_a, storage_a), (_, cache_b, storage_b) = nodes
    storage_a.delay = storage_b.delay = 0.3  # the first HEAD is still running when the rest miss
    barrier = threading.Barrier(10)
    urls = []

    def resolve(cache):
        barrier.wait()
        urls.append(cache.resolve(KEY).url)

    threads = [threading.Thread(target=resolve, args=(cache_a if n % 2 else cache_b,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(urls) == 10 and len(set(urls)) == 1
    print(f"\n10 concurrent misses on 2 nodes: {storage_a.calls['head'] + storage_b.calls['head']} HEAD")
    assert storage_a.calls["head"] + storage_b.calls["head"] == 1


def test_with_redis_down_single_flight_stays_per_process(make_settings, tmp_path):
    from api.embedded_redis import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis", persist=False)
    server.start()
    settings = make_settings(redis_url=server.url, redis_timeout_seconds=0.2)
    storage = CountingStorage(settings.images_dir, secret=settings.signing_secret)
    cache = create_app(settings, storage=storage).extensions["url_cache"]
    try:
        server.stop()
        storage.delay = 0.2
        barrier = threading.Barrier(6)
        urls = []

        def resolve():
            barrier.wait()
            urls.append(cache.resolve(KEY).url)

        threads = [threading.Thread(target=resolve) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert len(urls) == 6 and storage.calls["head"] == 1
    finally:
        cache.close()


def test_api_nodes_beat_and_are_listed_with_workers_and_versions(jclient, job_settings):
    from jobs import heartbeat

    from .jobs_fixtures import AUTH, running_consumer, wait_for

    node = heartbeat.NodeHeartbeat(0.05, time.time)
    node.start()
    try:
        with running_consumer():
            body = wait_for(
                lambda: (
                    (b := jclient.get("/api/v1/monitoring/stats", headers=AUTH).json)["workers"] and b["nodes"] and b
                )
            )
        assert [n["id"] for n in body["nodes"]] == [node.id]
        assert body["nodes"][0]["version"] == heartbeat.version() != "unknown"
        assert body["workers"][0]["version"] == heartbeat.version()
        assert body["nodes"][0]["last_seen"] > 0
    finally:
        node.stop()
    assert jclient.get("/api/v1/monitoring/stats", headers=AUTH).json["nodes"] == []  # a stopped node leaves
