"""An interrupted task never reads `running` for long: a consumer that shuts down hands back the
tasks still recorded on it, and a dead worker's task reads `lost` within TASK_STALE_SECONDS
(60 s by default, measured on the injectable clock)."""

from __future__ import annotations

import jobs
from jobs import heartbeat, tasks
from jobs.status import requeue_lost, store_for

from .jobs_fixtures import AUTH, running_consumer, task_of, wait_task


def start_running(japp, task, worker: str) -> None:
    """The task was taken from the queue by `worker`, as Huey's SIGNAL_EXECUTING records it."""
    jobs.huey.enqueue(task)
    assert jobs.huey.dequeue().id == task.id
    store_for(japp.extensions["services"]).executing(task, worker)


def test_a_consumer_shutting_down_hands_back_what_it_still_holds(japp, jclient):
    task = tasks.refresh.s("gallery/red.png")
    heartbeat.start()  # what a consumer's worker thread does on start-up
    start_running(japp, task, heartbeat.worker_id())
    assert task_of(jclient, task.id)["status"] == "running"
    heartbeat.stop()  # its last worker thread stops; no SIGNAL_INTERRUPTED reached the record
    shown = task_of(jclient, task.id)  # at once: the clock has not moved
    assert shown["status"] == "queued" and shown["requeued"] == 1
    assert shown["error"].startswith("interrupted")
    assert jobs.huey.pending_count() == 1  # back on the queue
    with running_consumer():
        done = wait_task(jclient, task.id)
    assert done["status"] == "succeeded" and done["error"] is None


def test_a_dead_workers_task_reads_lost_within_a_minute(japp, jclient, clock):
    assert japp.extensions["settings"].task_stale_seconds == 60  # the default
    task = tasks.refresh.s("gallery/red.png")
    start_running(japp, task, "gone-host:4242:dead01")  # a worker killed with -9: it beats no more
    clock.advance(59)
    assert task_of(jclient, task.id)["status"] == "running"
    clock.advance(2)
    assert task_of(jclient, task.id)["status"] == "lost"
    assert requeue_lost(store_for(japp.extensions["services"])) == [task.id]
    assert jclient.get(f"/api/v1/tasks/{task.id}", headers=AUTH).json["status"] == "queued"
