"""One dead process is not an outage: each child of `make run` is killed under load and comes back.

The stack is the launcher's (supervisord over Redis, gunicorn and the Huey consumer) on a fresh
data dir. The load requests `/i/<key>` for keys it resolved before, on fresh connections.
"""

from __future__ import annotations

import pytest

from .fault_drill import RECOVERY_TIMEOUT, LaunchedStack, kill_under_load

pytestmark = pytest.mark.slow
THREADS_PER_WORKER = 4  # api/gunicorn_conf.py


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    launched = LaunchedStack(tmp_path_factory.mktemp("faults") / "data").start()
    yield launched
    launched.stop()


@pytest.fixture(scope="module")
def keys(stack):
    return stack.known_keys()


def test_a_killed_consumer_costs_no_request_and_jobs_run_again(stack, keys):
    result = kill_under_load(stack, "worker", keys)
    assert result.requests > 0 and result.failed == 0
    assert result.recovered_seconds < RECOVERY_TIMEOUT
    stack.job_succeeds(keys[0])


def test_a_killed_gunicorn_worker_costs_at_most_its_requests_in_flight(stack, keys):
    result = kill_under_load(stack, "web-worker", keys)
    assert result.requests > 0
    assert result.failed <= THREADS_PER_WORKER
    assert result.failed_after_recovery == 0
    stack.wait_ready()


def test_a_killed_redis_costs_no_request_and_comes_back_with_its_entries(stack, keys):
    entries_before = stack.redis.dbsize()
    assert entries_before >= len(keys)
    result = kill_under_load(stack, "redis", keys)
    assert result.requests > 0 and result.failed == 0
    stack.wait_ready()
    assert stack.redis.dbsize() >= entries_before  # the append-only file kept them
    stack.job_succeeds(keys[1])


def test_the_stack_keeps_serving_through_all_of_it_and_stops_on_one_signal(stack):
    stack.wait_ready()
    output = stack.stop()
    assert "exited: worker (terminated by SIGKILL; not expected)" in output
    assert "exited: redis (terminated by SIGKILL; not expected)" in output
    assert "stopped: redis" in output.split("stopped: web")[-1]  # Redis stops last
