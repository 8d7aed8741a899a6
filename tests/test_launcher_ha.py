"""`make run-ha`'s plan: a Sentinel group, two API nodes and two consumers that find Redis
through the Sentinel settings only."""

from __future__ import annotations

from api import launcher_ha
from api.settings import Settings


def test_the_ha_deployment_is_a_sentinel_group_two_nodes_and_two_consumers(tmp_path):
    env = launcher_ha.sentinel_env({"DATA_DIR": str(tmp_path), "REDIS_URL": "redis://elsewhere/0", "PORT": "9100"})
    settings = Settings.from_env(env)  # the programs' settings agree with each other
    assert "REDIS_URL" not in env and settings.redis_sentinel_master == launcher_ha.MASTER
    servers = launcher_ha.sentinel_programs(tmp_path / "ha")
    assert [p.name for p in servers] == ["redis-primary", "redis-replica", "sentinel-0", "sentinel-1", "sentinel-2"]
    replica_conf = (tmp_path / "ha" / "replica" / "redis.conf").read_text()
    assert f"replicaof 127.0.0.1 {launcher_ha.REDIS_PORTS[0]}" in replica_conf
    sentinel_conf = (tmp_path / "ha" / "sentinel0" / "sentinel.conf").read_text()
    assert f"sentinel monitor {launcher_ha.MASTER} 127.0.0.1 {launcher_ha.REDIS_PORTS[0]} 2" in sentinel_conf
    assert all(s.priority < 100 for s in servers)  # Redis starts before, and stops after, the nodes
    nodes = launcher_ha.node_programs(settings.port)
    assert [p.name for p in nodes] == ["web-a", "web-b", "worker-a", "worker-b"]
    assert nodes[0].command[:2] == ["env", "PORT=9100"] and nodes[1].command[:2] == ["env", "PORT=9101"]
    assert "gunicorn" in nodes[0].command and "huey_consumer" in nodes[2].command
