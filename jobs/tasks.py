"""The tasks. Every one is idempotent: running it again (after a retry, an interrupted worker or
a lost one) converges on the same state, and progress resumes from its last committed step.

Retries: transient storage errors are retried inside the task by the storage policy
(JOB_STORAGE_RETRIES, exponential back-off with jitter from JOB_STORAGE_BACKOFF_SECONDS);
404/403 fail at once. Huey's own retries are kept for the queue's infrastructure (Redis errors);
any other failure is final and recorded with its reason.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NotRequired, TypedDict

import redis
from huey import crontab
from huey.api import Task
from huey.exceptions import CancelExecution, TaskLockedException

from api.redis_keys import periodic_claim_key
from api.services import Services

from . import runtime
from .heartbeat import worker_id
from .operations import (
    LISTING_DONE,
    WARM_PAGE_SIZE,
    TaskFailed,
    chunks,
    prerender,
    reason,
    refresh_keys,
    seed_page,
)
from .queue import PRIORITY_BATCH, PRIORITY_MAINTENANCE, PRIORITY_QUICK, huey
from .status import requeue_lost, store_for, trim_history
from .status.progress import KeyFailure

log = logging.getLogger(__name__)

INFRA_RETRIES = 2  # Huey-level retries, for Redis errors only
INFRA_RETRY_DELAY = 5
PERIODIC_LOCK_TTL = 600  # a killed worker's periodic lock frees itself after this
PERIODIC_EXPIRES = 120  # a periodic run not started within this is dropped (the next one comes)


# What each task returns: the `result` of its task record.
class RefreshResult(TypedDict):
    key: str
    outcome: str


class BatchRefreshResult(TypedDict):
    total: int
    refreshed: int
    failed: int
    errors: list[KeyFailure]  # a sample; `errors_total` counts them all
    errors_total: int


class WarmResult(TypedDict):
    prefix: str
    warmed: int
    skipped: int


class PreRefreshReport(TypedDict):
    due: int
    hot: int
    cold: int
    refreshed: int
    failed: int
    aborted: NotRequired[str]


class CleanupReport(TypedDict):
    index_trimmed: int
    access_trimmed: int
    requeued: list[str]
    history_trimmed: int


class Skipped(TypedDict):
    skipped: str  # why this consumer left the periodic run to another


def _job(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run `fn(services, task, ...)` on this process's task services; keep its result for the
    status record.

    Only Redis errors stay retryable; anything else is final (no retries left) so a 404 or a
    bug never loops."""

    @functools.wraps(fn)
    def run(*args: Any, task: Task | None = None, **kwargs: Any) -> Any:
        try:
            value = fn(runtime.installed(), task, *args, **kwargs)
        except redis.RedisError:
            raise
        except Exception:
            if task is not None:
                task.retries = 0
            raise
        if task is not None:
            task._iuc_result = value
        return value

    return run


def _stop_if_revoked(task: Task | None) -> None:
    """Cooperative revoke: a running batch stops at its next step once an admin revoked it."""
    if task is not None and huey.is_revoked(task):
        raise CancelExecution(retry=False)


@contextmanager
def exclusive(name: str, ctx: Services, once_per_minute: bool) -> Iterator[str | None]:
    """Run a periodic job on one consumer only: under `lock_task` (no overlap) and, with
    `once_per_minute`, a claim on the current minute of the app clock (no second run when two
    consumers' schedulers both enqueued it). Yields None to go ahead or the reason to skip."""
    lock = huey.lock_task(name, ttl=PERIODIC_LOCK_TTL)
    try:
        lock.acquire()
    except TaskLockedException:
        yield "running on another worker"
        return
    try:
        if once_per_minute:
            minute = int(ctx.clock() // 60)
            if not huey.conn.set(periodic_claim_key(name, minute), worker_id(), nx=True, ex=180):
                yield "already ran this minute"
                return
        yield None
    finally:
        lock.release()


@huey.task(priority=PRIORITY_QUICK, context=True, retries=INFRA_RETRIES, retry_delay=INFRA_RETRY_DELAY)
@_job
def refresh(ctx: Services, task: Task, key: str) -> RefreshResult:
    """Revalidate one key with storage and store its fresh metadata."""
    outcome = refresh_keys(ctx.cache, [key], ctx.settings.allowed_key_prefixes)[key]
    if outcome != "refreshed":
        raise TaskFailed(reason(outcome, ctx.storage.retries))
    return {"key": key, "outcome": outcome}


@huey.task(priority=PRIORITY_BATCH, context=True, retries=INFRA_RETRIES, retry_delay=INFRA_RETRY_DELAY)
@_job
def batch_refresh(ctx: Services, task: Task, keys: list[str]) -> BatchRefreshResult:
    """Revalidate many keys, chunk by chunk (each chunk's storage calls run concurrently in the
    cache's bounded pool), committing progress and per-key errors after every chunk."""
    store = store_for(ctx)
    start = store.progress.state(task.id)["offset"]
    for offset, chunk in chunks(keys, ctx.settings.batch_chunk_size, start):
        _stop_if_revoked(task)
        outcomes = refresh_keys(ctx.cache, chunk, ctx.settings.allowed_key_prefixes)
        errors = {key: outcome for key, outcome in outcomes.items() if outcome != "refreshed"}
        store.progress.advance(task, offset, offset + len(chunk), len(chunk) - len(errors), len(errors), errors)
    state = store.progress.state(task.id)
    sample, count = store.progress.errors_sample(task.id)
    return {"total": len(keys), "refreshed": state["done"], "failed": state["failed"], "errors": sample,
            "errors_total": count}  # fmt: skip


@huey.task(priority=PRIORITY_BATCH, context=True, retries=INFRA_RETRIES, retry_delay=INFRA_RETRY_DELAY)
@_job
def warm(ctx: Services, task: Task, prefix: str, widths: list[int] | None = None) -> WarmResult:
    """Load every key under `prefix` into the cache from the listing (no HEAD per key); with
    `widths`, also render their variants at those widths (local store)."""
    store = store_for(ctx)
    state = store.progress.state(task.id)
    pages, cursor = state["offset"], state["cursor"]
    allowed = ctx.settings.allowed_key_prefixes
    _stop_if_revoked(task)
    if cursor != LISTING_DONE:
        for page in ctx.storage.pages(prefix, cursor, WARM_PAGE_SIZE):
            seeded, skipped = seed_page(ctx.cache, page.items, allowed)
            prerender(ctx.cache, ctx.storage, [i.key for i in page.items], widths or [])
            store.progress.advance(task, pages, pages + 1, seeded, skipped, cursor=page.next_cursor or LISTING_DONE)
            pages += 1
            if page.next_cursor:
                _stop_if_revoked(task)  # before the next page is fetched
    state = store.progress.state(task.id)
    return {"prefix": prefix, "warmed": state["done"], "skipped": state["failed"]}


def run_pre_refresh(ctx: Services) -> PreRefreshReport:
    """Revalidate the keys that lapse within the lead and were accessed within the hot horizon.

    Costs O(due keys): one range read of the expiry index and one score lookup per due key.
    Cold keys are left to lapse; cleanup drops them from the index."""
    s = ctx.settings
    now = ctx.clock()
    hot, cold = ctx.cache.due_keys(now, s.prerefresh_lead_seconds, s.hot_horizon_seconds)
    report: PreRefreshReport = {
        "due": len(hot) + len(cold),
        "hot": len(hot),
        "cold": len(cold),
        "refreshed": 0,
        "failed": 0,
    }
    for _, chunk in chunks(hot, s.batch_chunk_size):
        outcomes = refresh_keys(ctx.cache, chunk, s.allowed_key_prefixes)
        ok = sum(1 for outcome in outcomes.values() if outcome == "refreshed")
        report["refreshed"] += ok
        report["failed"] += len(outcomes) - ok
        if not ok and all(outcome == "storage_unavailable" for outcome in outcomes.values()):
            # Storage is down: stop here rather than wait out every key's retries; entries keep
            # serving while still valid and the next minute tries again.
            report["aborted"] = "storage_unavailable"
            break
    ctx.cache.flush()
    return report


def run_cleanup(ctx: Services) -> CleanupReport:
    """Trim lapsed and cold index entries, re-enqueue lost tasks, forget old task history."""
    s = ctx.settings
    store = store_for(ctx)
    index, access = ctx.cache.trim(ctx.clock(), s.hot_horizon_seconds)
    requeued = requeue_lost(store)
    forgotten = trim_history(store)
    return {"index_trimmed": index, "access_trimmed": access, "requeued": requeued, "history_trimmed": forgotten}


@huey.periodic_task(crontab(minute="*"), priority=PRIORITY_MAINTENANCE, context=True, expires=PERIODIC_EXPIRES)
@_job
def pre_refresh(ctx: Services, task: Task) -> PreRefreshReport | Skipped:
    """Every minute, on one consumer: keep hot keys from missing at expiry (invariant 4)."""
    with exclusive("pre_refresh", ctx, once_per_minute=True) as skipped:
        if skipped:
            return {"skipped": skipped}
        return run_pre_refresh(ctx)


@huey.periodic_task(crontab(minute="*"), priority=PRIORITY_MAINTENANCE, context=True, expires=PERIODIC_EXPIRES)
@_job
def cleanup(ctx: Services, task: Task) -> CleanupReport | Skipped:
    """Every minute, on one consumer: index and history upkeep, lost-task recovery."""
    with exclusive("cleanup", ctx, once_per_minute=False) as skipped:
        if skipped:
            return {"skipped": skipped}
        return run_cleanup(ctx)
