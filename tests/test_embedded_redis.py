"""The embedded Redis: persistence, a memory cap that spares the queue, and PID files never trusted blindly."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import redis

from api.embedded_redis import EmbeddedRedis, is_our_server, wait_until_answering

from .fault_drill import alive


def test_a_restart_keeps_what_was_written_and_the_cap_evicts_only_expiring_keys(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", maxmemory_bytes=64 * 1024**2)
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        assert client.config_get("maxmemory") == {"maxmemory": str(64 * 1024**2)}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "volatile-lru"}
        client.set("iuc:entry:a", "1", ex=3600)
        client.lpush("huey.queue", "job")
        time.sleep(1.5)  # appendfsync everysec: what is a second old is on disk
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        server.start()
        client = redis.Redis.from_url(server.url)
        assert client.get("iuc:entry:a") == b"1"
        assert client.lrange("huey.queue", 0, -1) == [b"job"]
    finally:
        server.stop()


def test_a_stale_pid_file_naming_a_foreign_process_is_never_signalled(tmp_path):
    data_dir = tmp_path / "redis"
    data_dir.mkdir()
    foreign = subprocess.Popen(["sleep", "60"], cwd=data_dir)  # even in the same directory
    try:
        (data_dir / "redis.pid").write_text(f"{foreign.pid}\n")
        assert not is_our_server(foreign.pid, data_dir)
        server = EmbeddedRedis(data_dir, persist=False)
        server.start()
        server.stop()
        assert foreign.poll() is None and alive(foreign.pid)
    finally:
        foreign.kill()
        foreign.wait()


def test_a_leftover_server_of_the_same_data_dir_is_stopped_before_a_new_start(tmp_path):
    first = EmbeddedRedis(tmp_path / "redis", persist=False)
    first.start()
    leftover = first.process
    assert leftover is not None and is_our_server(leftover.pid, tmp_path / "redis")
    first.process = None  # as if its owner had been killed with -9
    other_dir = EmbeddedRedis(tmp_path / "other", persist=False)
    (other_dir.data_dir).mkdir(parents=True)
    (other_dir.pidfile).write_text(str(leftover.pid))
    other_dir.stop_leftover()  # ours, but another data dir's: left alone
    assert leftover.poll() is None
    second = EmbeddedRedis(tmp_path / "redis", persist=False)
    try:
        second.start()
        assert leftover.wait(timeout=10) == 0
        wait_until_answering(second.url, timeout=5)
    finally:
        second.stop()
