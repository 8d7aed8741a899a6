"""A real 3-primary Redis Cluster built with `redis-cli --cluster create`: cache, counters and
limits on it, the queue on HUEY_REDIS_URL.

Round trips are counted at the client: every node's pool makes CountingConnection, which counts
each packed send (one send is one round trip; a pipeline sends once per node).
"""

from __future__ import annotations

import pytest

from api.app import create_app
from api.cache.parts import PARTS, index_name
from tests.bench.redis_server import CountingConnection

from .jobs_fixtures import AUTH
from .redis_topologies import Cluster, redis_cluster
from .support import CountingStorage

BATCH = 500


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture
def cluster_settings(make_settings, cluster: Cluster, redis_url):
    for node in cluster.nodes:
        if node.process is not None and node.process.poll() is None:
            node.client().flushall()
    return make_settings(**cluster.settings(huey_redis_url=redis_url), rate_limit_enabled=False)


@pytest.fixture
def batch_keys(cluster_settings):
    keys = [f"batch/{n:03}.png" for n in range(BATCH)]
    for key in keys:
        path = cluster_settings.images_dir / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + key.encode())
    return keys


def _count_round_trips(app) -> None:
    for node in app.extensions["url_cache"].redis.get_nodes():
        pool = node.redis_connection.connection_pool
        pool.connection_class = CountingConnection
        pool.reset()  # connections made from now on count their sends
        node.redis_connection.ping()  # connect now: a new connection's handshake is not the batch's
    CountingConnection.round_trips = 0


def _resolve(app, keys):
    response = app.test_client().post("/api/v1/urls", json={"keys": keys})
    assert response.status_code == 200
    assert response.get_json()["errors"] == []
    return {item["key"]: item["url"] for item in response.get_json()["items"]}


def test_a_500_key_batch_costs_one_round_trip_per_shard(cluster_settings, cluster: Cluster, batch_keys, clock):
    # One clock for both: on the wall clock some key's window may roll over between the two.
    writer = create_app(cluster_settings, clock=clock)
    storage = CountingStorage(cluster_settings.images_dir, secret=cluster_settings.signing_secret)
    reader = create_app(cluster_settings, storage=storage, clock=clock)
    try:
        _count_round_trips(writer)
        first = _resolve(writer, batch_keys)
        write_trips = CountingConnection.round_trips
        per_shard = [node.client().dbsize() for node in cluster.nodes]
        assert all(n > 0 for n in per_shard) and sum(per_shard) >= BATCH  # spread over every shard

        _count_round_trips(reader)
        second = _resolve(reader, batch_keys)  # a cold L1: every key read from L2
        read_trips = CountingConnection.round_trips
        print(
            f"\ncluster batch of {BATCH}: keys per shard {per_shard}, round trips: miss {write_trips}, hit {read_trips}"
        )
        assert second == first
        assert read_trips <= len(cluster.nodes)
        assert storage.total == 0  # every key came from L2
    finally:
        writer.extensions["url_cache"].close()
        reader.extensions["url_cache"].close()


def test_the_expiry_index_is_split_over_the_shards_and_sweeps_find_every_key(cluster_settings, cluster, batch_keys):
    app = create_app(cluster_settings)
    try:
        _resolve(app, batch_keys)
        names = {index_name(part, PARTS).encode() for part in range(PARTS)}
        holders = [len(names & set(node.client().keys("iuc:index:*"))) for node in cluster.nodes]
        assert all(n > 0 for n in holders), holders  # no shard holds the whole index
        cache = app.extensions["url_cache"]
        hot, cold = cache.due_keys(cache.clock() + 10 * cluster_settings.cache_ttl_seconds, 0, 3600)
        assert sorted(hot + cold) == sorted(batch_keys)
        assert cache.invalidate(prefix="batch/") == BATCH  # a prefix flush scans every shard
        assert sum(node.client().dbsize() for node in cluster.nodes) == 0
    finally:
        app.extensions["url_cache"].close()


def test_readyz_shows_the_cluster_shards_up(cluster_settings, cluster):
    app = create_app(cluster_settings)
    try:
        ready = app.test_client().get("/readyz").get_json()
        assert ready["checks"]["redis_topology"] == "cluster"
        assert ready["checks"]["redis_shards"] == f"{len(cluster.nodes)}/{len(cluster.nodes)} up"
        stats = app.test_client().get("/api/v1/monitoring/stats", headers=AUTH).get_json()
        assert stats["redis"]["redis_shards"] == f"{len(cluster.nodes)}/{len(cluster.nodes)} up"
    finally:
        app.extensions["url_cache"].close()


def test_rate_limits_count_on_the_cluster(make_settings, cluster: Cluster, redis_url):
    settings = make_settings(
        **cluster.settings(huey_redis_url=redis_url), rate_limit_enabled=True, rate_limit_public="2 per minute"
    )
    app = create_app(settings)
    try:
        client = app.test_client()
        codes = [client.get("/api/v1/urls/gallery/red.png").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert any(node.client().keys("*iuc-limits*") for node in cluster.nodes)
    finally:
        app.extensions["url_cache"].close()


def test_with_one_shard_down_known_keys_keep_redirecting(cluster_settings, cluster: Cluster, batch_keys, clock):
    """Runs last in this module: it kills a shard of the module's cluster. Known keys keep their
    Location on a node that holds them in memory and on one that never saw them (cold L1: the
    dead shard's keys come from storage, the others from the shards that are up)."""
    app = create_app(cluster_settings, clock=clock)
    cold = create_app(cluster_settings, clock=clock)
    try:
        urls = _resolve(app, batch_keys[:50])
        cluster.nodes[0].kill()
        for node in (app, cold):
            client = node.test_client()
            for key in batch_keys[:50]:
                response = client.get(f"/i/{key}")
                assert response.status_code == 302
                assert response.headers["Location"] == urls[key]
    finally:
        app.extensions["url_cache"].close()
        cold.extensions["url_cache"].close()


@pytest.mark.parametrize("rate_limit_enabled", [False, True])
def test_a_node_starts_and_serves_degraded_while_the_cluster_is_away(make_settings, redis_url, rate_limit_enabled):
    from api.embedded_redis import free_port

    settings = make_settings(
        redis_url=None,
        redis_cluster_nodes=(f"127.0.0.1:{free_port()}",),
        huey_redis_url=redis_url,
        rate_limit_enabled=rate_limit_enabled,
        rate_limit_public="2 per minute",
        redis_timeout_seconds=0.1,
    )
    app = create_app(settings)
    try:
        client = app.test_client()
        assert client.get("/i/gallery/red.png").status_code == 302
        ready = client.get("/readyz").get_json()
        assert ready["status"] == "degraded" and ready["checks"]["redis_topology"] == "cluster"
        codes = [client.get("/api/v1/urls/gallery/red.png").status_code for _ in range(3)]
        # limits count in this process's memory while the cluster is away, not not at all
        assert codes == ([200, 200, 429] if rate_limit_enabled else [200, 200, 200])
    finally:
        app.extensions["url_cache"].close()
