"""Row 15: a 500-key batch on a 3-primary Redis Cluster vs the same batch on one server.

A real cluster from the bundled binaries (`redis-cli --cluster create`, tests.redis_topologies)
and the run's standalone Redis. Both caches are UrlCache as the app builds it (the cluster one
on api.redis_topology's RedisCluster client) over the same local storage, seeded with the same
500 keys; every timed batch starts with a cold L1, so every key is read from L2.

Round trips are counted at the client: each cluster node's pool makes CountingConnection
(tests.bench.redis_server), which counts every packed send; a pipeline to one node is one send.
Rounds alternate cluster and standalone so machine noise hits both alike; medians are reported.
"""

from __future__ import annotations

import time

import redis

from ..redis_topologies import redis_cluster
from .context import Context
from .product import local_storage, settings_for, url_cache_for, write_files
from .redis_server import CountingConnection
from .results import Result
from .stats import fmt_ms, interleaved, median

ROW = "15"
NAME = "Redis Cluster batch"
BATCH = 500
DB_CLUSTER_REF = 14  # the standalone reference's db: no other row uses it (tests/bench/context.py)


def _keys() -> list[str]:
    return [f"bench/cluster/photo-{i:04d}.jpg" for i in range(BATCH)]


def _connections(cache, connection_class) -> None:
    """Every node's pool makes `connection_class` from now on; each connects now, so a
    connection's handshake is not counted as the batch's."""
    for node in cache.redis.get_nodes():
        pool = node.redis_connection.connection_pool
        pool.connection_class = connection_class
        pool.reset()
        node.redis_connection.ping()


def _timed(cache, keys: list[str]):
    def once() -> float:
        cache.memory.clear()  # a cold L1: every key comes from L2
        start = time.perf_counter()
        found, errors = cache.resolve_many(keys)
        elapsed = time.perf_counter() - start
        if len(found) != len(keys) or errors:
            raise RuntimeError(f"batch resolve: {len(found)} found, {len(errors)} errors")
        return elapsed

    return once


def run(ctx: Context) -> Result:
    from api.redis_topology import cache_client

    keys = _keys()
    write_files(ctx.images, keys, b"\xff\xd8\xff" + b"x" * 61)
    storage = local_storage(ctx.images)
    ctx.client(DB_CLUSTER_REF).flushdb()
    with redis_cluster(ctx.work / "cluster") as cluster:
        # usage flushes are not part of a batch: a long flush interval keeps them out of the timings
        standalone_settings = settings_for(ctx.data_dir, ctx.redis.url(DB_CLUSTER_REF), access_flush_seconds=3600.0)
        cluster_settings = settings_for(
            ctx.data_dir,
            None,
            redis_cluster_nodes=cluster.addresses,
            huey_redis_url=ctx.redis.url(DB_CLUSTER_REF),
            access_flush_seconds=3600.0,
        )
        standalone = url_cache_for(standalone_settings, storage)
        clustered = url_cache_for(cluster_settings, storage, client=cache_client(cluster_settings))
        try:
            for cache in (standalone, clustered):
                cache.seed(storage.head(k) for k in keys)
            per_shard = [node.client().dbsize() for node in cluster.nodes]
            _connections(clustered, CountingConnection)
            CountingConnection.round_trips = 0
            clustered.memory.clear()
            clustered.resolve_many(keys)
            trips = CountingConnection.round_trips
            _connections(clustered, redis.Connection)  # the timings pay no counting
            for cache in (standalone, clustered):  # warm code paths and connections
                _timed(cache, keys)()
            rounds = ctx.pick(21, 7)
            times = interleaved({"cluster": _timed(clustered, keys), "standalone": _timed(standalone, keys)}, rounds)
        finally:
            standalone.close()
            clustered.close()
    ctx.client(DB_CLUSTER_REF).flushdb()
    c, s = median(times["cluster"]), median(times["standalone"])
    ratios = sorted(x / y for x, y in zip(times["cluster"], times["standalone"]))
    ratio = median(ratios)
    shards = len(per_shard)
    return Result(
        ROW,
        NAME + f" ({BATCH} keys over {shards} shards, cold L1)",
        ours=f"cluster: {trips} round trips, {fmt_ms(c)} per batch",
        reference=f"standalone: {fmt_ms(s)} per batch",
        ratio=f"{ratio:.2f}x time",
        goal=f"<= {shards} round trips; <= 2x the standalone time",
        met=trips <= shards and ratio <= 2.0,
        details=[
            f"keys per shard {per_shard}; {rounds} alternating rounds, median of per-round ratios "
            f"{ratio:.2f}x (rounds {ratios[0]:.2f}-{ratios[-1]:.2f})",
            "round trips counted at the client: every cluster node's pool makes CountingConnection, which "
            "counts each packed send (one pipeline to one node is one send); the count is of one batch, "
            "after each connection's handshake",
            "both caches are UrlCache in this process over the same local storage; the batch is "
            "UrlCache.resolve_many with L1 cleared, every key an L2 hit",
        ],
    )
