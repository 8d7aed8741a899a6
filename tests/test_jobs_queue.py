"""The queue's plumbing: where it lives in Redis, what it will unpickle, and the lost-task rule."""

from __future__ import annotations

import os
import pickle

import pytest
from huey.utils import Error

import jobs
from api.settings import SettingsError
from jobs import heartbeat, tasks
from jobs.queue import huey_url
from jobs.serializer import JsonSerializer
from jobs.status import requeue_lost, store_for

from .jobs_fixtures import AUTH, task_of


@pytest.mark.parametrize(
    "url, expected",
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1"),
        ("redis://:pw@cache.internal:6380", "redis://:pw@cache.internal:6380/1"),
        ("rediss://cache:6380/4?ssl_cert_reqs=none", "rediss://cache:6380/1?ssl_cert_reqs=none"),
        ("redis://h:1/0?db=3", "redis://h:1/1"),
        ("unix:///run/redis.sock?db=0", "unix:///run/redis.sock?db=1"),
    ],
)
def test_the_queue_uses_its_own_db_of_the_app_redis(url, expected):
    assert huey_url(url, 1) == expected


def test_an_unsupported_redis_url_is_a_settings_error():
    with pytest.raises(SettingsError, match="REDIS_URL"):
        huey_url("redis+sentinel://h:26379/mymaster", 1)


def test_the_queue_and_the_cache_do_not_share_a_db(japp):
    settings = japp.extensions["settings"]
    assert jobs.huey.conn.connection_pool.connection_kwargs["db"] == settings.huey_redis_db
    assert japp.extensions["redis"].connection_pool.connection_kwargs["db"] == 0


class Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_the_serializer_round_trips_task_messages_as_json_and_refuses_objects():
    serializer = JsonSerializer()
    task = tasks.batch_refresh.s(["a.png", "b.png"])
    message = jobs.huey.serialize_task(task)
    assert message.startswith(b"{")  # plain JSON in Redis
    restored = jobs.huey.deserialize_task(message)
    assert restored.args == (["a.png", "b.png"],) and restored.id == task.id
    error = Error({"error": "boom", "retries": 0})
    assert serializer.deserialize(serializer.serialize(error)) == error
    with pytest.raises(TypeError):
        serializer.serialize(Boom())
    with pytest.raises(ValueError):
        serializer.deserialize(pickle.dumps(Boom()))  # bytes that are not JSON are refused


def test_a_running_task_is_lost_only_when_stale_and_its_worker_is_gone(japp, jclient, clock):
    task = tasks.refresh.s("gallery/red.png")
    jobs.huey.enqueue(task)
    store = store_for(japp.extensions["services"])
    heartbeat.beat()  # this process is a live worker
    store.executing(task, heartbeat.worker_id())
    stale = japp.extensions["settings"].task_stale_seconds
    clock.advance(stale + 1)
    assert task_of(jclient, task.id)["status"] == "running"  # stale, but its worker is alive
    jobs.huey.conn.delete(heartbeat.WORKER_PREFIX + heartbeat.worker_id())  # the worker died
    clock.advance(-stale)
    assert task_of(jclient, task.id)["status"] == "running"  # dead worker, but not stale yet
    clock.advance(stale)
    assert task_of(jclient, task.id)["status"] == "lost"
    listed = jclient.get("/api/v1/tasks?status=lost", headers=AUTH).json["items"]
    assert [t["task_id"] for t in listed] == [task.id]
    assert requeue_lost(store) == [task.id]
    requeued = task_of(jclient, task.id)
    assert requeued["status"] == "queued" and requeued["requeued"] == 1
    assert requeue_lost(store) == []  # idempotent: nothing left running
