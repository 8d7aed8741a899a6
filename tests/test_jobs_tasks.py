"""Task API and tasks with real in-process Huey consumers on the real Redis.

Covers: the original curl calls reach `succeeded`; 503 twice then 200 with growing gaps; 404/403
fail at once; a failed refresh keeps the URL serving; a 2,000-key batch reports progress and
ends exact; revoke; interrupted tasks are re-enqueued; bad input never reaches the queue.
"""

from __future__ import annotations

import time

import pytest

import jobs
from api.app import create_app
from api.services import job_settings as worker_settings
from api.storage.cos import CosStorage

from .conftest import IMAGES, write_images
from .cos_server import cos_settings_for
from .jobs_fixtures import AUTH, TOKEN, running_consumer, task_of, wait_for, wait_task

KEY = "gallery/red.png"


def l2_entry(app, key):
    return app.extensions["url_cache"].shared.read([key]).get(key)


# -- the original calls ----------------------------------------------------------------------
def test_original_refresh_call_is_accepted_and_succeeds(jclient, japp, clock):
    response = jclient.post("/api/v1/tasks/refresh", json={"image_key": KEY}, headers=AUTH)
    assert response.status_code == 202
    assert set(response.json) == {"task_id", "status"} and response.json["status"] == "queued"
    task_id = response.json["task_id"]
    queued = task_of(jclient, task_id)
    assert queued["status"] == "queued" and queued["name"] == "refresh" and queued["enqueued_at"] == clock()
    with running_consumer():
        task = wait_task(jclient, task_id)
    assert task["status"] == "succeeded", task
    assert task["result"] == {"key": KEY, "outcome": "refreshed"}
    assert task["error"] is None and task["retries"] == 0 and task["progress"] is None
    assert task["started_at"] is not None and task["finished_at"] is not None
    assert l2_entry(japp, KEY).validated_at == clock()


def test_original_batch_refresh_call_is_accepted_and_succeeds(jclient, japp):
    keys = list(IMAGES)
    response = jclient.post("/api/v1/tasks/batch-refresh", json={"image_keys": keys + keys[:1]}, headers=AUTH)
    assert response.status_code == 202
    assert set(response.json) == {"task_id", "count"} and response.json["count"] == len(keys)  # deduplicated
    with running_consumer():
        task = wait_task(jclient, response.json["task_id"])
    assert task["status"] == "succeeded", task
    assert task["progress"] == {"done": len(keys), "failed": 0, "total": len(keys)}
    assert all(l2_entry(japp, key) is not None for key in keys)


def test_warm_loads_every_key_under_a_prefix_from_the_listing(jclient, japp, recording_storage):
    response = jclient.post("/api/v1/tasks/warm", json={"prefix": "gallery/"}, headers=AUTH)
    assert response.status_code == 202 and response.json["status"] == "queued"
    with running_consumer():
        task = wait_task(jclient, response.json["task_id"])
    gallery = [k for k in IMAGES if k.startswith("gallery/")]
    assert task["status"] == "succeeded", task
    assert task["progress"] == {"done": len(gallery), "failed": 0, "total": len(gallery)}
    assert task["result"] == {"prefix": "gallery/", "warmed": len(gallery), "skipped": 0}
    assert all(l2_entry(japp, key) is not None for key in gallery)
    assert l2_entry(japp, "private/secret.png") is None
    assert recording_storage.heads == []  # metadata came from the listing, no HEAD per key


# -- bad input never reaches the queue -------------------------------------------------------
@pytest.mark.parametrize(
    "path, body, code",
    [
        ("/api/v1/tasks/refresh", {"image_key": "../etc/passwd"}, "path_traversal"),
        ("/api/v1/tasks/refresh", {"image_key": "/abs.png"}, "absolute_key"),
        ("/api/v1/tasks/refresh", {"image_key": 7}, "invalid_key"),
        ("/api/v1/tasks/refresh", {}, "validation_error"),
        ("/api/v1/tasks/batch-refresh", {"image_keys": [KEY, "a/%2e%2e/b"]}, "invalid_keys"),
        ("/api/v1/tasks/batch-refresh", {"image_keys": []}, "validation_error"),
        ("/api/v1/tasks/batch-refresh", {"image_keys": KEY}, "validation_error"),
        ("/api/v1/tasks/warm", {"prefix": "../"}, "path_traversal"),
    ],
)
def test_bad_input_is_a_400_and_nothing_is_queued(jclient, recording_storage, path, body, code):
    response = jclient.post(path, json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.json["error"]["code"] == code
    assert jobs.huey.pending_count() == 0
    assert jclient.get("/api/v1/tasks", headers=AUTH).json["items"] == []
    assert recording_storage.heads == []


def test_a_bad_key_put_on_the_queue_directly_still_never_reaches_storage(jclient, recording_storage):
    task = jobs.tasks.batch_refresh.s([KEY, "../etc/passwd", "/abs.png"])
    jobs.huey.enqueue(task)
    with running_consumer():
        done = wait_task(jclient, task.id)
    assert done["progress"] == {"done": 1, "failed": 2, "total": 3}
    assert {e["key"]: e["code"] for e in done["result"]["errors"]} == {"../etc/passwd": "path_traversal",
                                                                       "/abs.png": "absolute_key"}  # fmt: skip
    assert recording_storage.heads == [KEY]


def test_batch_names_its_bad_keys(jclient):
    response = jclient.post("/api/v1/tasks/batch-refresh", json={"image_keys": [KEY, "x/../y", KEY, 3]}, headers=AUTH)
    assert response.status_code == 400
    details = response.json["error"]["details"]
    assert [(d["index"], d["code"]) for d in details] == [(1, "path_traversal"), (3, "invalid_key")]


def test_batch_cap_is_ten_thousand_keys(jclient):
    keys = [f"bulk/k{i:05d}.png" for i in range(10_001)]
    response = jclient.post("/api/v1/tasks/batch-refresh", json={"image_keys": keys}, headers=AUTH)
    assert response.status_code == 400 and "At most 10000" in response.json["error"]["message"]
    assert jobs.huey.pending_count() == 0
    response = jclient.post("/api/v1/tasks/batch-refresh", json={"image_keys": keys[:10_000]}, headers=AUTH)
    assert response.status_code == 202 and response.json["count"] == 10_000
    assert jobs.huey.pending_count() == 1
    assert task_of(jclient, response.json["task_id"])["progress"] == {"done": 0, "failed": 0, "total": 10_000}


def test_queue_unreachable_is_a_503(make_settings, clock):
    from api.embedded_redis import free_port

    app = create_app(
        make_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_timeout_seconds=0.05), clock=clock
    )
    response = app.test_client().post("/api/v1/tasks/refresh", json={"image_key": KEY}, headers=AUTH)
    assert response.status_code == 503 and response.json["error"]["code"] == "queue_unavailable"


# -- retries: transient vs permanent (COS test server, real SDK) -------------------------------
class TimedCos(CosStorage):
    """The real COS adapter, noting when each HEAD attempt starts and ends."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.attempts: list[tuple[float, float]] = []

    def _head(self, key):
        started = time.monotonic()
        try:
            return super()._head(key)
        finally:
            self.attempts.append((started, time.monotonic()))

    def waits(self) -> list[float]:
        """The pauses between attempts (the back-off alone, without request time)."""
        return [nxt[0] - prev[1] for prev, nxt in zip(self.attempts, self.attempts[1:])]


@pytest.fixture
def make_cos_app(cos_server, redis_url, tmp_path, install_job_app):
    """A jobs app on the COS test server, with the worker's retry policy at a given back-off."""

    def make(backoff: float = 0.001):
        settings = cos_settings_for(
            cos_server,
            redis_url=redis_url,
            data_dir=tmp_path,
            admin_token=TOKEN,
            access_flush_seconds=3600.0,
            huey_read_timeout_seconds=0.05,
            worker_heartbeat_seconds=0.05,
            job_storage_backoff_seconds=backoff,
        )
        storage = TimedCos.from_settings(worker_settings(settings))  # the worker's retry policy
        return install_job_app(settings, storage)

    return make


@pytest.fixture
def cos_app(make_cos_app):
    return make_cos_app()


def refresh_via_api(app, key: str) -> dict:
    client = app.test_client()
    response = client.post("/api/v1/tasks/refresh", json={"image_key": key}, headers=AUTH)
    assert response.status_code == 202
    with running_consumer():
        return wait_task(client, response.json["task_id"])


def test_503_twice_then_200_succeeds_on_the_third_try_with_growing_gaps(make_cos_app, cos_server):
    cos_app = make_cos_app(backoff=0.2)
    cos_server.put(KEY, IMAGES[KEY])
    cos_server.inject(KEY, status=503, times=2, method="HEAD")
    task = refresh_via_api(cos_app, KEY)
    assert task["status"] == "succeeded", task
    assert cos_server.count("HEAD", KEY) == 3
    first, second = cos_app.extensions["storage"].waits()
    # Back-off 0.2 s doubling, plus up to 0.1 s of jitter: [0.2, 0.3] then [0.4, 0.5].
    assert 0.2 <= first < 0.4 and 0.4 <= second < 0.7
    assert second > first


def test_404_fails_on_the_first_try_without_retrying(cos_app, cos_server):
    task = refresh_via_api(cos_app, "gallery/gone.png")
    assert task["status"] == "failed"
    assert task["error"].startswith("not_found:")
    assert cos_server.count("HEAD", "gallery/gone.png") == 1
    assert task["retries"] == 0


def test_403_fails_at_once_with_a_clear_reason(cos_app, cos_server):
    cos_server.put(KEY, IMAGES[KEY])
    cos_server.inject(KEY, status=403, times=5, method="HEAD")
    task = refresh_via_api(cos_app, KEY)
    assert task["status"] == "failed" and task["error"].startswith("access_denied:")
    assert cos_server.count("HEAD", KEY) == 1


def test_a_failed_refresh_keeps_the_old_url_serving(cos_app, cos_server, clock):
    cos_server.put(KEY, IMAGES[KEY])
    before = cos_app.test_client().get(f"/api/v1/urls/{KEY}").json
    cos_server.inject(KEY, status=503, times=10, method="HEAD")
    task = refresh_via_api(cos_app, KEY)
    assert task["status"] == "failed" and task["error"].startswith("storage_unavailable:")
    assert cos_server.count("HEAD", KEY) == 1 + 4  # the first resolve, then 1 try + 3 retries
    # Another process (no L1 of its own) still gets the same URL from the shared tier.
    other = create_app(cos_app.extensions["settings"], clock=clock)
    after = other.test_client().get(f"/api/v1/urls/{KEY}")
    other.extensions["url_cache"].close()
    assert after.status_code == 200 and after.json["url"] == before["url"]


# -- a big batch: progress while running, exact counts at the end ------------------------------
def bulk_keys(data_dir, count: int = 2000, missing_every: int = 200) -> tuple[list[str], set[str]]:
    keys = [f"bulk/k{i:04d}.png" for i in range(count)]
    missing = {k for i, k in enumerate(keys) if i % missing_every == 7}
    write_images(data_dir / "images", {k: b"\x89PNG" + k.encode() for k in keys if k not in missing})
    return keys, missing


def test_batch_of_2000_reports_progress_while_running_and_ends_exact(jclient, data_dir, recording_storage):
    keys, missing = bulk_keys(data_dir)
    gate = recording_storage.close_gate(after=1000)  # the 11th chunk of 100 waits for us
    response = jclient.post("/api/v1/tasks/batch-refresh", json={"image_keys": keys}, headers=AUTH)
    task_id = response.json["task_id"]
    with running_consumer():
        assert recording_storage.waiting.wait(15)
        midway = task_of(jclient, task_id)
        gate.set()
        task = wait_task(jclient, task_id)
    first_thousand_missing = len([k for k in keys[:1000] if k in missing])
    assert midway["status"] == "running"
    assert midway["progress"] == {
        "done": 1000 - first_thousand_missing,
        "failed": first_thousand_missing,
        "total": 2000,
    }
    assert task["status"] == "succeeded", task
    assert task["progress"] == {"done": 2000 - len(missing), "failed": len(missing), "total": 2000}
    assert task["result"]["refreshed"] == 2000 - len(missing) and task["result"]["failed"] == len(missing)
    assert {e["key"]: e["code"] for e in task["result"]["errors"]} == dict.fromkeys(missing, "not_found")
    assert sorted(recording_storage.heads) == sorted(keys)  # each key asked once


# -- revoke ----------------------------------------------------------------------------------
def test_revoking_a_queued_task_means_it_never_runs(jclient, recording_storage):
    task_id = jclient.post("/api/v1/tasks/refresh", json={"image_key": KEY}, headers=AUTH).json["task_id"]
    response = jclient.delete(f"/api/v1/tasks/{task_id}", headers=AUTH)
    assert response.status_code == 200 and response.json["status"] == "revoked"
    marker = jclient.post("/api/v1/tasks/refresh", json={"image_key": "gallery/blue.webp"}, headers=AUTH).json
    with running_consumer():
        wait_task(jclient, marker["task_id"])  # queued after the revoked one, so that one was seen
    assert task_of(jclient, task_id)["status"] == "revoked"
    assert KEY not in recording_storage.heads
    again = jclient.delete(f"/api/v1/tasks/{task_id}", headers=AUTH)
    assert again.status_code == 409 and again.json["error"]["code"] == "task_finished"


def test_revoking_a_running_batch_stops_it_at_the_next_chunk(jclient, data_dir, recording_storage):
    keys, _ = bulk_keys(data_dir, count=500, missing_every=10_000)
    gate = recording_storage.close_gate(after=200)
    task_id = jclient.post("/api/v1/tasks/batch-refresh", json={"image_keys": keys}, headers=AUTH).json["task_id"]
    with running_consumer():
        assert recording_storage.waiting.wait(15)
        response = jclient.delete(f"/api/v1/tasks/{task_id}", headers=AUTH)
        assert response.status_code == 202 and response.json["status"] == "running"
        gate.set()
        task = wait_task(jclient, task_id)
    assert task["status"] == "revoked"
    progress = task["progress"]
    assert progress["done"] + progress["failed"] == 300 and progress["total"] == 500  # chunk 3 done, 4 never ran
    assert len(recording_storage.heads) == 300


def test_unknown_task_is_a_json_404(jclient):
    for method in ("get", "delete"):
        response = getattr(jclient, method)("/api/v1/tasks/no-such-task", headers=AUTH)
        assert response.status_code == 404 and response.json["error"]["code"] == "task_not_found"


# -- listing -----------------------------------------------------------------------------------
def test_task_list_is_newest_first_and_filters_by_status(jclient, clock):
    ids = []
    for key in (KEY, "gallery/missing.png", "gallery/green.jpg"):
        ids.append(jclient.post("/api/v1/tasks/refresh", json={"image_key": key}, headers=AUTH).json["task_id"])
        clock.advance(1)
    with running_consumer():
        for task_id in ids:
            wait_task(jclient, task_id)
    items = jclient.get("/api/v1/tasks", headers=AUTH).json["items"]
    assert [t["task_id"] for t in items] == ids[::-1]
    failed = jclient.get("/api/v1/tasks?status=failed", headers=AUTH).json["items"]
    assert [t["task_id"] for t in failed] == [ids[1]]
    assert [t["task_id"] for t in jclient.get("/api/v1/tasks?limit=1", headers=AUTH).json["items"]] == [ids[2]]
    assert jclient.get("/api/v1/tasks?status=bogus", headers=AUTH).status_code == 400
    assert jclient.get("/api/v1/tasks?limit=0", headers=AUTH).status_code == 400


# -- no acks: an interrupted task goes back to the queue and resumes ---------------------------
def test_interrupted_task_is_reenqueued_and_resumes_with_exact_counts(jclient, data_dir, recording_storage):
    keys, missing = bulk_keys(data_dir, count=600, missing_every=100)
    gate = recording_storage.close_gate(after=300)
    task_id = jclient.post("/api/v1/tasks/batch-refresh", json={"image_keys": keys}, headers=AUTH).json["task_id"]
    with running_consumer(workers=2):
        assert recording_storage.waiting.wait(15)
        jobs.huey.notify_interrupted_tasks()  # what a stopping consumer does for tasks in flight
        requeued = task_of(jclient, task_id)
        assert requeued["requeued"] == 1 and requeued["error"].startswith("interrupted")
        assert requeued["status"] == "queued" and jobs.huey.scheduled_count() == 1
        wait_for(lambda: task_of(jclient, task_id)["status"] == "running")  # the other worker took it
        gate.set()
        task = wait_task(jclient, task_id)
    assert task["status"] == "succeeded", task
    assert task["error"] is None  # the interruption is history: the re-run succeeded
    assert task["progress"] == {"done": 600 - len(missing), "failed": len(missing), "total": 600}
    # The second run resumed at the last committed chunk: only the interrupted chunk was redone.
    assert len(recording_storage.heads) <= 600 + 100
