"""A real `huey_consumer` process (as the Procfile runs it) dies mid-batch.

kill -9: no signal reaches Huey, the task is reported `lost` once its worker's heartbeat expired,
cleanup re-enqueues it, and it resumes to exact counts with every key fresh.
SIGTERM: Huey's SIGNAL_INTERRUPTED puts the task straight back on the queue.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import jobs
from api.redis_keys import TASK_PREFIX
from jobs import runtime, tasks

from .cos_server import cos_settings_for
from .jobs_fixtures import AUTH, TOKEN, build_job_app, running_consumer, task_of, wait_for, wait_task

ROOT = Path(__file__).resolve().parents[1]
CONSUMER = Path(sys.executable).parent / "huey_consumer"
KEYS = [f"bulk/k{i:04d}.jpg" for i in range(1000)]
CHUNK = 20
pytestmark = pytest.mark.slow

FAST = dict(
    huey_read_timeout_seconds=0.1,
    worker_heartbeat_seconds=0.1,
    task_stale_seconds=0.3,
    batch_chunk_size=CHUNK,
    job_storage_backoff_seconds=0.001,
    access_flush_seconds=3600.0,
)


@pytest.fixture
def cluster(cos_server, redis_url, tmp_path):
    """1,000 objects in the COS test server, every HEAD slowed down; an app on the real clock."""
    for key in KEYS:
        cos_server.put(key, b"\xff\xd8\xff" + key.encode())
    cos_server.inject(None, method="HEAD", delay=0.01, times=10**6)
    # A connect timeout above the 1 s SYN retransmit: the test server's listen backlog is small and
    # the consumer opens 16 connections at once.
    settings = cos_settings_for(
        cos_server, redis_url=redis_url, data_dir=tmp_path, admin_token=TOKEN, cos_timeout_seconds=3.0, **FAST
    )
    app = build_job_app(settings)
    env = {k: v for k, v in os.environ.items() if k not in {"PROMETHEUS_MULTIPROC_DIR"}}
    env.update({name.upper(): str(getattr(settings, name)) for name in (
        "redis_url", "data_dir", "admin_token", "storage_backend", "cos_secret_id", "cos_secret_key", "cos_bucket",
        "cos_region", "cos_scheme", "cos_endpoint", "cos_domain", "cos_timeout_seconds", *FAST)})  # fmt: skip
    env["LOG_LEVEL"] = "warning"
    yield app, env
    runtime.install(None)
    app.extensions["services"].close()


def start_consumer(env) -> subprocess.Popen:
    return subprocess.Popen(
        [str(CONSUMER), "jobs.huey", "-k", "thread", "-w", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def run_until_partway(client, env) -> tuple[str, subprocess.Popen, float]:
    started = time.time()
    task_id = client.post("/api/v1/tasks/batch-refresh", json={"image_keys": KEYS}, headers=AUTH).json["task_id"]
    consumer = start_consumer(env)
    record = TASK_PREFIX + task_id
    processed = lambda: sum(int(n or 0) for n in jobs.huey.conn.hmget(record, ["done", "failed"]))
    progress = lambda: task_of(client, task_id)["progress"]
    try:  # read Redis directly, every 20 ms: keep this process light while the consumer works
        wait_for(lambda: processed() >= 100 or consumer.poll() is not None, timeout=30, interval=0.02)
    except AssertionError:
        consumer.kill()
        raise AssertionError(
            f"no progress: {task_of(client, task_id)}\n{consumer.communicate()[1].decode()[-3000:]}"
        ) from None
    assert consumer.poll() is None, consumer.stderr.read().decode()
    assert progress()["failed"] == 0, task_of(client, task_id)
    assert progress()["done"] < len(KEYS)
    return task_id, consumer, started


def finish_in_process(client, cos_server, task_id, requeue: bool) -> dict:
    with cos_server.lock:
        cos_server.faults.clear()  # full speed for the rest
    with running_consumer():
        if requeue:
            cleanup = tasks.cleanup.s()
            jobs.huey.enqueue(cleanup)
            report = wait_task(client, cleanup.id)
            assert report["result"]["requeued"] == [task_id], report
        return wait_task(client, task_id, timeout=30)


def assert_every_key_fresh(app, cos_server, task, started: float) -> None:
    assert task["status"] == "succeeded", task
    assert task["progress"] == {"done": len(KEYS), "failed": 0, "total": len(KEYS)}
    cache = app.extensions["url_cache"]
    entries = cache.shared.read(KEYS)
    assert len(entries) == len(KEYS)
    assert min(entry.validated_at for entry in entries.values()) >= started
    # The re-run resumed after the last committed chunk: at most one chunk was asked twice.
    assert len(KEYS) <= cos_server.count("HEAD") <= len(KEYS) + CHUNK
    heads = cos_server.count("HEAD")
    found, errors = cache.resolve_many(KEYS)
    assert len(found) == len(KEYS) and not errors and cos_server.count("HEAD") == heads


def test_worker_killed_mid_batch_is_reported_lost_reenqueued_and_every_key_ends_fresh(cluster, cos_server):
    app, env = cluster
    client = app.test_client()
    task_id, consumer, started = run_until_partway(client, env)
    worker = task_of(client, task_id)["worker"]
    consumer.send_signal(signal.SIGKILL)
    consumer.wait(10)
    lost = wait_for(lambda: (t := task_of(client, task_id))["status"] == "lost" and t, timeout=10)
    assert lost["worker"] == worker and str(consumer.pid) in worker
    assert 0 < lost["progress"]["done"] < len(KEYS)
    listed = client.get("/api/v1/tasks?status=lost", headers=AUTH).json["items"]
    assert [t["task_id"] for t in listed] == [task_id]
    task = finish_in_process(client, cos_server, task_id, requeue=True)
    assert task["requeued"] == 1
    assert_every_key_fresh(app, cos_server, task, started)


def test_consumer_stopped_mid_batch_puts_the_task_back_on_the_queue(cluster, cos_server):
    app, env = cluster
    client = app.test_client()
    task_id, consumer, started = run_until_partway(client, env)
    consumer.send_signal(signal.SIGTERM)  # Huey's immediate shutdown: SIGNAL_INTERRUPTED
    assert consumer.wait(10) == 0
    task = task_of(client, task_id)
    assert task["status"] == "queued" and task["requeued"] == 1 and task["error"].startswith("interrupted"), task
    # Back through the schedule, so the dying consumer's threads could not take it again.
    assert (jobs.huey.pending_count(), jobs.huey.scheduled_count()) == (0, 1)
    task = finish_in_process(client, cos_server, task_id, requeue=False)
    assert_every_key_fresh(app, cos_server, task, started)
