"""A real Sentinel group (primary, replica, 3 sentinels) from the bundled redis-server: cache,
counters, limits and jobs on the Sentinel-managed primary, and a SIGKILLed primary under load.

The failover test prints its numbers (failed requests, longest wait, seconds until writes
resume); its only time check is the bound the product promises: no request waits longer than
REDIS_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import time

import pytest

import jobs
from api.app import create_app
from api.redis_keys import ACCESS_KEY, INDEX_KEY, L2_PREFIX, STATS_KEY, periodic_claim_key, task_key
from api.windows import window_for
from jobs import runtime, tasks

from .conftest import IMAGES, write_images
from .jobs_fixtures import AUTH, RecordingStorage, build_job_app, running_consumer, wait_task
from .redis_topologies import SentinelGroup, sentinel_group, wait_until

TIMEOUT = 1.0


@pytest.fixture
def group(tmp_path):
    with sentinel_group(tmp_path / "sentinel") as group:
        yield group


@pytest.fixture
def sentinel_settings(make_settings, group):
    return make_settings(
        **group.settings(),
        redis_timeout_seconds=TIMEOUT,
        redis_retry_seconds=0.2,
        huey_read_timeout_seconds=0.05,
        worker_heartbeat_seconds=0.05,
        job_storage_backoff_seconds=0.001,
    )


def test_cache_counters_and_readyz_live_on_the_sentinel_primary(sentinel_settings, group: SentinelGroup):
    app = create_app(sentinel_settings)
    try:
        client = app.test_client()
        assert client.get("/api/v1/urls/gallery/red.png").status_code == 200
        app.extensions["url_cache"].flush()
        primary = group.server_at(group.primary_address()).client()
        assert primary.exists(L2_PREFIX + "gallery/red.png")
        assert int(primary.hget(STATS_KEY, "signs") or 0) >= 1
        ready = client.get("/readyz").get_json()
        assert ready["status"] == "ok"
        assert ready["checks"]["redis_topology"] == "sentinel"
        assert ready["checks"]["redis_primary"] == group.primary_address()
        stats = client.get("/api/v1/monitoring/stats", headers=AUTH).get_json()
        assert stats["redis"]["redis_primary"] == group.primary_address()
    finally:
        app.extensions["url_cache"].close()


def test_rate_limits_count_on_the_sentinel_primary(make_settings, group: SentinelGroup):
    settings = make_settings(**group.settings(), rate_limit_enabled=True, rate_limit_public="2 per minute")
    app = create_app(settings)
    try:
        client = app.test_client()
        codes = [client.get("/api/v1/urls/gallery/red.png").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        primary = group.server_at(group.primary_address()).client()
        assert primary.keys("*iuc-limits*")
    finally:
        app.extensions["url_cache"].close()


def _write_image(settings, key: str) -> None:
    path = settings.images_dir / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + key.encode())


class QuietClock:
    """Epoch seconds that advance with the monotonic clock from a start chosen so that no key of
    `keys` reaches its URL rollover within `span` seconds: the breaker's retry timer runs as in
    production, and "URLs unchanged" is decided in one signing window per key, never by where
    the wall clock happens to be (a rollover mid-test changed a URL about 1% of runs)."""

    def __init__(self, keys: list[str], settings, span: float, start: float = 1_800_000_000.0) -> None:
        window, keep = settings.url_window_seconds, settings.url_min_remaining_seconds
        while any(window_for(key, start, window, keep).end < start + span for key in keys):
            start += 60
        self.start, self._began = start, time.monotonic()

    def __call__(self) -> float:
        return self.start + time.monotonic() - self._began


def test_a_killed_primary_is_degraded_mode_not_an_outage(sentinel_settings, group: SentinelGroup):
    known = list(IMAGES)
    clock = QuietClock(known, sentinel_settings, span=300)
    app = build_job_app(sentinel_settings, clock=clock)  # the queue too follows the Sentinel primary
    services = app.extensions["services"]
    try:
        _killed_primary(app, clock, sentinel_settings, group, known)
    finally:
        runtime.install(None)
        services.close()


def _killed_primary(app, clock, sentinel_settings, group: SentinelGroup, known: list[str]) -> None:
    client = app.test_client()
    urls = {key: client.get(f"/api/v1/urls/{key}").get_json()["url"] for key in known}
    other = create_app(sentinel_settings, clock=clock).extensions["url_cache"]  # a second node, listening
    other.bus.start()
    assert other.bus.subscribed.wait(5)
    other.resolve(known[1])
    old = group.primary_address()
    wait_until(lambda: group.replica.client().exists(L2_PREFIX + known[-1]), 10, "the replica to catch up")

    group.server_at(old).kill()
    killed = time.monotonic()
    failed = requests = 0
    longest = 0.0
    promoted_after = resumed_after = None
    n = 0
    while resumed_after is None and time.monotonic() - killed < 30:
        for key in known:
            start = time.monotonic()
            response = client.get(f"/api/v1/urls/{key}")
            longest = max(longest, time.monotonic() - start)
            requests += 1
            if response.status_code != 200 or response.get_json()["url"] != urls[key]:
                failed += 1
        new_key = f"fresh/{n}.png"
        n += 1
        _write_image(sentinel_settings, new_key)
        start = time.monotonic()
        assert client.get(f"/api/v1/urls/{new_key}").status_code == 200  # storage answers, Redis or not
        longest = max(longest, time.monotonic() - start)
        now_primary = group.primary_address()
        if now_primary != old and promoted_after is None:
            promoted_after = time.monotonic() - killed
        if now_primary != old and group.server_at(now_primary).client().exists(L2_PREFIX + new_key):
            resumed_after = time.monotonic() - killed
        time.sleep(0.02)
    print(
        f"\nsentinel failover: {requests} requests on known keys, {failed} failed, longest wait "
        f"{longest * 1000:.0f} ms, promoted after {promoted_after} s, writes resumed after {resumed_after} s"
    )
    assert failed == 0
    assert resumed_after is not None, "cache writes never reached the promoted primary"
    assert longest < TIMEOUT

    new_primary = group.server_at(group.primary_address()).client()
    app.extensions["url_cache"].flush()
    assert int(new_primary.hget(STATS_KEY, "signs") or 0) >= 1  # counters resumed
    response = client.post("/api/v1/tasks/refresh", json={"image_key": known[0]}, headers=AUTH)
    assert response.status_code == 202
    with running_consumer():
        task_id = response.get_json()["task_id"]
        task = wait_task(client, task_id)
    assert task["status"] == "succeeded"
    queue_db = group.server_at(group.primary_address()).client(db=sentinel_settings.huey_redis_db)
    assert queue_db.exists(task_key(task_id))  # the job's record is on the promoted primary
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ok"
    assert ready["checks"]["redis_primary"] == group.primary_address()

    # the other node resubscribed through the promoted primary: a flush here reaches its memory
    wait_until(other.bus.subscribed.is_set, 10, "the other node to resubscribe")
    app.extensions["url_cache"].invalidate(key=known[1])
    wait_until(lambda: other.memory.get(known[1]) is None, 2, "the flush to reach the other node")
    other.close()


def _enqueue(wrapper) -> str:
    """Enqueue a periodic task as a consumer's scheduler does each minute; a call that meets the
    failover's dead connection is made again, as the scheduler's next minute would."""
    task = wrapper.s()
    wait_until(lambda: jobs.huey.enqueue(task) or True, 10, "the queue to take a task")
    return task.id


def test_periodic_jobs_neither_run_twice_nor_stop_across_a_failover(
    sentinel_settings, group: SentinelGroup, clock, install_job_app
):
    storage = RecordingStorage(sentinel_settings.images_dir, sentinel_settings.signing_secret, retries=3, backoff=0.001)
    app = install_job_app(sentinel_settings, storage)
    client = app.test_client()
    keys = [f"hot/k{i}.png" for i in range(5)]
    write_images(sentinel_settings.images_dir, {key: b"x" for key in keys})

    def make_due() -> bool:
        cache_redis = app.extensions["redis"]
        cache_redis.zadd(INDEX_KEY, dict.fromkeys(keys, clock() + 60))
        cache_redis.zadd(ACCESS_KEY, dict.fromkeys(keys, clock()))
        return True

    make_due()
    with running_consumer(workers=1), running_consumer(workers=1):
        first = _enqueue(tasks.pre_refresh)
        assert wait_task(client, first)["result"]["refreshed"] == 5
        claim = periodic_claim_key("pre_refresh", int(clock() // 60))
        replica_queue = group.replica.client(db=sentinel_settings.huey_redis_db)
        wait_until(lambda: replica_queue.exists(claim), 10, "the replica to hold this minute's claim")

        old = group.primary_address()
        group.server_at(old).kill()
        wait_until(lambda: group.primary_address() != old, 30, "a replica to be promoted")
        again = _enqueue(tasks.pre_refresh)  # the other consumer's scheduler, same minute
        assert wait_task(client, again, timeout=30)["result"] == {"skipped": "already ran this minute"}

        clock.advance(60)
        wait_until(make_due, 10, "the promoted primary to take writes")
        next_minute = [_enqueue(tasks.pre_refresh) for _ in range(2)]  # both schedulers
        results = [wait_task(client, task_id, timeout=30)["result"] for task_id in next_minute]
    ran = [r for r in results if "skipped" not in r]
    assert len(ran) == 1 and ran[0]["refreshed"] == 5  # one run, on the promoted primary
    assert sorted(storage.heads) == sorted(keys * 2)  # each key once per minute, in both minutes
