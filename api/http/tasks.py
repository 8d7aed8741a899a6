"""Background jobs (admin): enqueue refreshes and warms, follow them, revoke them.

Keys are validated here, so a bad key is a 400 and never reaches the queue (or storage). A
queue that cannot be reached (Redis errors, no REDIS_URL) is one 503 `queue_unavailable`,
mapped once below for every route of this blueprint.
"""

from __future__ import annotations

import re

import redis
from flask.views import MethodView
from flask_smorest import Blueprint

import jobs
from jobs.status import TaskStore, store_for

from ..keys import InvalidKey, validate_prefix
from ..vocabulary import ErrorCode, TaskStatus
from . import auth, context
from .errors import ApiError, error_response
from .schemas_admin import (
    BatchAcceptedSchema,
    BatchRefreshTaskArgsSchema,
    RefreshTaskArgsSchema,
    TaskAcceptedSchema,
    TaskListArgsSchema,
    TaskListSchema,
    TaskSchema,
    WarmTaskArgsSchema,
)

bp = auth.protect(
    Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Background jobs (admin token required)")
)
TASK_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
MAX_REPORTED_KEY_ERRORS = 100


@bp.errorhandler(redis.RedisError)
@bp.errorhandler(jobs.QueueUnavailable)
def _queue_unavailable(error: Exception):
    return error_response(503, ErrorCode.QUEUE_UNAVAILABLE, f"The job queue is unavailable: {error}",
                          headers={"Retry-After": "5"})  # fmt: skip


def _store() -> TaskStore:
    return store_for(context.services())


def _enqueue(task) -> str:
    return jobs.enqueue(task, context.services())


def _task_or_404(task_id: str) -> dict:
    view = _store().get(task_id) if TASK_ID.match(task_id) else None
    if view is None:
        raise ApiError(404, ErrorCode.TASK_NOT_FOUND, f"No task {task_id!r} (unknown, or its history expired).")
    return view


@bp.route("/refresh", methods=["POST"])
@bp.arguments(RefreshTaskArgsSchema, error_status_code=400)
@bp.response(202, TaskAcceptedSchema)
@bp.doc(security=auth.SECURITY)
def refresh(args: dict):
    """Revalidate one key with storage in the background (high priority)."""
    key = context.valid_key(args["image_key"])
    return {"task_id": _enqueue(jobs.tasks.refresh.s(key)), "status": TaskStatus.QUEUED}


@bp.route("/batch-refresh", methods=["POST"])
@bp.arguments(BatchRefreshTaskArgsSchema, error_status_code=400)
@bp.response(202, BatchAcceptedSchema)
@bp.doc(security=auth.SECURITY)
def batch_refresh(args: dict):
    """Revalidate up to BATCH_MAX_KEYS keys; progress is reported as it goes. Any bad key
    rejects the whole batch (400, listing the bad keys)."""
    keys = args["image_keys"]
    bad = []
    for index, key in enumerate(keys):
        try:
            context.valid_key(key)
        except InvalidKey as error:
            bad.append({"index": index, "key": key if isinstance(key, str) else repr(key), "code": error.code,
                        "message": error.message})  # fmt: skip
    if bad:
        raise ApiError(
            400,
            ErrorCode.INVALID_KEYS,
            f"{len(bad)} of {len(keys)} keys are not valid; nothing was queued.",
            bad[:MAX_REPORTED_KEY_ERRORS],
        )
    unique = list(dict.fromkeys(keys))
    return {"task_id": _enqueue(jobs.tasks.batch_refresh.s(unique)), "count": len(unique)}


@bp.route("/warm", methods=["POST"])
@bp.arguments(WarmTaskArgsSchema, error_status_code=400)
@bp.response(202, TaskAcceptedSchema)
@bp.doc(security=auth.SECURITY)
def warm(args: dict):
    """Load every key under a prefix into the cache (from the listing, no HEAD per key); with
    `widths`, also render their variants at those widths."""
    prefix = validate_prefix(args["prefix"])
    widths = args["widths"]
    task = jobs.tasks.warm.s(prefix, widths) if widths else jobs.tasks.warm.s(prefix)
    return {"task_id": _enqueue(task), "status": TaskStatus.QUEUED}


@bp.route("")
@bp.arguments(TaskListArgsSchema, location="query", error_status_code=400)
@bp.response(200, TaskListSchema)
@bp.doc(security=auth.SECURITY)
def list_tasks(args: dict):
    """Recent tasks, newest first, optionally only those in one status."""
    return {"items": _store().list(args["status"], args["limit"])}


@bp.route("/<task_id>")
class TaskItem(MethodView):
    @bp.response(200, TaskSchema)
    @bp.doc(security=auth.SECURITY)
    def get(self, task_id: str):
        """Status, progress, timings, result and error of one task."""
        return _task_or_404(task_id)

    @bp.response(200, TaskSchema)
    @bp.alt_response(202, schema=TaskSchema, description="Running: it stops at its next step")
    @bp.doc(security=auth.SECURITY)
    def delete(self, task_id: str):
        """Revoke a task: queued ones never run; a running batch or warm stops at its next step."""
        _task_or_404(task_id)
        view, outcome = _store().revoke(task_id)
        if outcome == "unknown":
            raise ApiError(404, ErrorCode.TASK_NOT_FOUND, f"No task {task_id!r}.")
        if outcome == "finished":
            assert view is not None  # a finished task's record is what `revoke` read
            raise ApiError(409, ErrorCode.TASK_FINISHED, f"Task {task_id!r} already finished ({view['status']}).")
        return view, 202 if outcome == "revoking" else 200
