"""One settings surface for every Redis topology: contradictions fail at start, naming the
variables; the launcher starts its embedded Redis only when no deployment is named."""

from __future__ import annotations

import pytest

from api import launcher
from api.redis_topology import RedisTopology, limiter_storage, queue_pool, topology
from api.settings import Settings, SettingsError

SENTINELS = "127.0.0.1:26379,127.0.0.1:26380"


def _settings(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"DATA_DIR": str(tmp_path), **env})


@pytest.mark.parametrize(
    "env, named",
    [
        ({"REDIS_URL": "redis://h/0", "REDIS_SENTINELS": SENTINELS, "REDIS_SENTINEL_MASTER": "m"},
         ["REDIS_URL", "REDIS_SENTINELS"]),
        ({"REDIS_URL": "redis://h/0", "REDIS_CLUSTER_NODES": "h:7000", "HUEY_REDIS_URL": "redis://q/0"},
         ["REDIS_URL", "REDIS_CLUSTER_NODES"]),
        ({"REDIS_SENTINELS": SENTINELS}, ["REDIS_SENTINELS", "REDIS_SENTINEL_MASTER"]),
        ({"REDIS_SENTINEL_MASTER": "m"}, ["REDIS_SENTINELS", "REDIS_SENTINEL_MASTER"]),
        ({"REDIS_CLUSTER_NODES": "h:7000,h:7001"}, ["REDIS_CLUSTER_NODES", "HUEY_REDIS_URL"]),
        ({"REDIS_CLUSTER_NODES": "h:7000", "HUEY_REDIS_URL": "redis://q/0", "REDIS_DB": "2"},
         ["REDIS_DB", "REDIS_CLUSTER_NODES"]),
        ({"REDIS_URL": "redis://h/0", "REDIS_PASSWORD": "pw"}, ["REDIS_PASSWORD", "REDIS_URL"]),
        ({"REDIS_SENTINELS": "no-port", "REDIS_SENTINEL_MASTER": "m"}, ["REDIS_SENTINELS"]),
    ],
)  # fmt: skip
def test_contradictory_redis_settings_fail_at_start_naming_the_variables(tmp_path, env, named):
    with pytest.raises(SettingsError) as error:
        _settings(tmp_path, **env)
    for name in named:
        assert name in str(error.value)


def test_each_topology_has_its_clients(tmp_path):
    standalone = _settings(tmp_path, REDIS_URL="unix:///tmp/r.sock?db=0")
    assert topology(standalone) is RedisTopology.STANDALONE
    assert limiter_storage(standalone)[0] == "redis+unix:///tmp/r.sock?db=0"
    sentinel = _settings(tmp_path, REDIS_SENTINELS=SENTINELS, REDIS_SENTINEL_MASTER="m", REDIS_DB="3")
    assert topology(sentinel) is RedisTopology.SENTINEL
    uri, options = limiter_storage(sentinel)
    assert uri == f"redis+sentinel://{SENTINELS}/m" and options["db"] == 3
    where, _ = queue_pool(sentinel, 1.0, 2.0)
    assert where.endswith("/m/1")  # the queue in HUEY_REDIS_DB of the Sentinel primary
    cluster = _settings(tmp_path, REDIS_CLUSTER_NODES="h:7000", REDIS_SENTINELS=SENTINELS, REDIS_SENTINEL_MASTER="m")
    assert topology(cluster) is RedisTopology.CLUSTER
    assert limiter_storage(cluster)[0] == "iuc+redis+cluster://h:7000"  # connected on first use
    assert queue_pool(cluster, 1.0, 2.0)[0].startswith("sentinel:")  # the queue on Sentinel
    queued = _settings(tmp_path, REDIS_CLUSTER_NODES="h:7000", HUEY_REDIS_URL="redis://q:6379/4")
    assert queue_pool(queued, 1.0, 2.0)[0] == "redis://q:6379/4"


@pytest.mark.parametrize(
    "env",
    [{"REDIS_SENTINELS": SENTINELS, "REDIS_SENTINEL_MASTER": "m"},
     {"REDIS_CLUSTER_NODES": "h:7000", "HUEY_REDIS_URL": "redis://q/0"}],
)  # fmt: skip
def test_the_launcher_starts_no_embedded_redis_when_a_deployment_is_named(tmp_path, env):
    programs, url = launcher._programs(_settings(tmp_path, **env))
    assert "redis" not in [p.name for p in programs]
    assert url is None  # REDIS_URL stays unset: the programs read the same Sentinel/cluster settings
    programs, url = launcher._programs(_settings(tmp_path))
    assert "redis" in [p.name for p in programs] and url
