"""Periodic jobs with an injectable clock: pre-refresh picks exactly the due-and-hot keys and runs
once per minute however many consumers there are; cleanup trims the index and old history."""

from __future__ import annotations

import datetime

import redis

import jobs
from api.redis_keys import ACCESS_KEY, INDEX_KEY
from jobs import tasks

from .conftest import write_images
from .jobs_fixtures import AUTH, running_consumer, task_of, wait_for

TOTAL = 100_000


def run_periodic(client, wrapper) -> dict:
    """Enqueue a periodic task by hand (what a consumer's scheduler does each minute)."""
    task = wrapper.s()
    jobs.huey.enqueue(task)
    return task.id


def finished(client, task_id) -> dict | None:
    task = task_of(client, task_id)
    return task if task["status"] in {"succeeded", "failed", "revoked"} else None


def index_100k(japp, data_dir, now: float):
    """100,000 indexed keys: due+hot (files exist), due+cold, and hot but not yet due."""
    s = japp.extensions["settings"]
    lead, horizon = s.prerefresh_lead_seconds, s.hot_horizon_seconds
    due_hot = [f"hot/k{i:03d}.png" for i in range(120)]
    due_cold = [f"cold/k{i:03d}.png" for i in range(150)]
    later = [f"later/k{i:06d}.png" for i in range(TOTAL - len(due_hot) - len(due_cold))]
    index, access = {}, {}
    for i, key in enumerate(due_hot):
        index[key] = now + lead * i / len(due_hot)  # lapses within the lead
        access[key] = now - horizon * i / len(due_hot)  # accessed within the horizon
    index[due_hot[-1]], access[due_hot[-1]] = now + lead, now - horizon  # both edges included
    for i, key in enumerate(due_cold):
        index[key] = now - 30 + i  # due (some already lapsed)
        if i % 2:
            access[key] = now - horizon - 1 - i  # accessed, but before the horizon
    for i, key in enumerate(later):
        index[key] = now + lead + 1 + i
        access[key] = now - 5
    client = japp.extensions["redis"]
    for mapping, name in ((index, INDEX_KEY), (access, ACCESS_KEY)):
        items = list(mapping.items())
        pipe = client.pipeline(transaction=False)
        for start in range(0, len(items), 10_000):
            pipe.zadd(name, dict(items[start : start + 10_000]))
        pipe.execute()
    assert client.zcard(INDEX_KEY) == TOTAL
    write_images(data_dir / "images", {key: b"\x89PNG" + key.encode() for key in due_hot})
    return due_hot, due_cold


def redis_output_bytes(client: redis.Redis) -> int:
    return int(client.info("stats")["total_net_output_bytes"])


def test_pre_refresh_picks_exactly_the_due_and_hot_keys_out_of_100k(japp, jclient, data_dir, clock, recording_storage):
    due_hot, _ = index_100k(japp, data_dir, clock())
    client = japp.extensions["redis"]
    before = redis_output_bytes(client)
    with running_consumer():
        task_id = run_periodic(jclient, tasks.pre_refresh)
        task = wait_for(lambda: finished(jclient, task_id))
    read = redis_output_bytes(client) - before
    assert task["status"] == "succeeded", task
    assert task["result"] == {"due": 270, "hot": 120, "cold": 150, "refreshed": 120, "failed": 0}
    assert sorted(recording_storage.heads) == sorted(due_hot)  # cold keys are left to lapse
    # O(due keys): reading the 100,000-entry index (or access set) alone would be > 1.5 MB.
    assert read < 300_000, read
    s = japp.extensions["settings"]
    lapses = client.zmscore(INDEX_KEY, due_hot)
    assert set(lapses) == {clock() + s.cache_ttl_seconds}  # refreshed: no longer due


def test_two_consumers_never_run_pre_refresh_twice_in_one_minute(japp, jclient, data_dir, clock, recording_storage):
    keys = [f"hot/k{i}.png" for i in range(5)]
    write_images(data_dir / "images", {key: b"x" for key in keys})
    japp.extensions["redis"].zadd(INDEX_KEY, dict.fromkeys(keys, clock() + 60))
    japp.extensions["redis"].zadd(ACCESS_KEY, dict.fromkeys(keys, clock()))
    gate = recording_storage.close_gate(after=0)
    with running_consumer(workers=1), running_consumer(workers=1):
        first = run_periodic(jclient, tasks.pre_refresh)
        assert recording_storage.waiting.wait(10)  # the first run holds the lock, blocked in storage
        overlapping = run_periodic(jclient, tasks.pre_refresh)  # the other scheduler's copy
        assert wait_for(lambda: finished(jclient, overlapping))["result"] == {"skipped": "running on another worker"}
        gate.set()
        assert wait_for(lambda: finished(jclient, first))["result"]["refreshed"] == 5
        late = run_periodic(jclient, tasks.pre_refresh)  # same minute, after the first finished
        assert wait_for(lambda: finished(jclient, late))["result"] == {"skipped": "already ran this minute"}
        clock.advance(60)
        japp.extensions["redis"].zadd(INDEX_KEY, dict.fromkeys(keys, clock() + 60))  # due again
        next_minute = [run_periodic(jclient, tasks.pre_refresh) for _ in range(2)]
        results = [wait_for(lambda t=t: finished(jclient, t))["result"] for t in next_minute]
    ran = [r for r in results if "skipped" not in r]
    assert len(ran) == 1 and ran[0]["refreshed"] == 5
    assert sorted(recording_storage.heads) == sorted(keys * 2)  # each key once per minute


def test_pre_refresh_stops_early_when_storage_is_down_and_entries_keep_serving(japp, jclient, clock, recording_storage):
    keys = [f"gallery/k{i:03d}.png" for i in range(250)]
    client = japp.extensions["redis"]
    client.zadd(INDEX_KEY, dict.fromkeys(keys, clock() + 60))
    client.zadd(ACCESS_KEY, dict.fromkeys(keys, clock()))
    recording_storage.unavailable = True
    with running_consumer():
        task_id = run_periodic(jclient, tasks.pre_refresh)
        task = wait_for(lambda: finished(jclient, task_id))
    assert task["result"] == {"due": 250, "hot": 250, "cold": 0, "refreshed": 0, "failed": 100,
                              "aborted": "storage_unavailable"}  # fmt: skip
    assert len(set(recording_storage.heads)) == 100  # the first chunk (each key tried 1 + 3 times)
    assert len(recording_storage.heads) == 400
    assert client.zcard(INDEX_KEY) == 250  # nothing dropped: still due, tried again next minute


def test_pre_refresh_and_cleanup_are_scheduled_every_minute():
    for minute in (datetime.datetime(2030, 1, 1, 12, 0), datetime.datetime(2030, 6, 3, 17, 41)):
        names = {task.name for task in jobs.huey.read_periodic(minute)}
        assert names == {"pre_refresh", "cleanup"}


def test_cleanup_trims_lapsed_index_entries_and_old_task_history(japp, jclient, clock):
    s = japp.extensions["settings"]
    client = japp.extensions["redis"]
    client.zadd(INDEX_KEY, {"gone/a.png": clock() - 1, "live/b.png": clock() + 10})
    client.zadd(ACCESS_KEY, {"gone/a.png": clock() - s.hot_horizon_seconds - 1, "live/b.png": clock()})
    clock.advance(-s.task_history_seconds - 10)
    old = jclient.post("/api/v1/tasks/refresh", json={"image_key": "gallery/red.png"}, headers=AUTH).json["task_id"]
    clock.advance(s.task_history_seconds + 10)
    recent = jclient.post("/api/v1/tasks/refresh", json={"image_key": "gallery/green.jpg"}, headers=AUTH).json[
        "task_id"
    ]
    with running_consumer():
        wait_for(lambda: finished(jclient, recent))
        task_id = run_periodic(jclient, tasks.cleanup)
        task = wait_for(lambda: finished(jclient, task_id))
    assert task["status"] == "succeeded", task
    assert task["result"]["index_trimmed"] == 1 and task["result"]["access_trimmed"] == 1
    assert task["result"]["history_trimmed"] == 1
    indexed = set(client.zrange(INDEX_KEY, 0, -1))
    assert b"gone/a.png" not in indexed and b"live/b.png" in indexed
    assert jclient.get(f"/api/v1/tasks/{old}", headers=AUTH).status_code == 404
    assert {t["task_id"] for t in jclient.get("/api/v1/tasks", headers=AUTH).json["items"]} >= {recent, task_id}
