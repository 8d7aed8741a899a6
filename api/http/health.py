"""Liveness and readiness probes."""

from __future__ import annotations

from flask_smorest import Blueprint

from ..redis_topology import describe
from ..storage import StorageError
from ..vocabulary import HealthStatus
from . import context
from .schemas import HealthSchema

bp = Blueprint("health", __name__, description="Probes")


@bp.route("/healthz")
@bp.response(200, HealthSchema)
def healthz():
    """The process answers."""
    return {"status": HealthStatus.OK, "checks": {}}


@bp.route("/readyz")
@bp.response(200, HealthSchema)
@bp.alt_response(503, schema=HealthSchema)
def readyz():
    """Redis and storage reachable: `ok`; Redis down: `degraded` (still serving); storage down: 503.

    `storage_errors` counts the store faults this process has seen (symlink loops, permissions,
    outages...; not missing objects), `storage_last_error` names the latest. They do not change
    the status: a store that serves most objects keeps the node in rotation, but it is not
    reported healthy without a word. `redis_topology` says which deployment serves the cache
    (standalone, sentinel with `redis_primary`, cluster with `redis_shards` up)."""
    redis_ok = context.url_cache().ping()
    storage = context.storage()
    try:
        storage.list("", None, 1)
        storage_ok = True
    except StorageError:
        storage_ok = False
    checks = {"redis": "ok" if redis_ok else "down", "storage": "ok" if storage_ok else "down"}
    checks.update(describe(context.settings(), context.url_cache().redis))
    errors, last = storage.faults.snapshot()
    checks["storage_errors"] = str(errors)
    if last:
        checks["storage_last_error"] = last
    if not storage_ok:
        return {"status": HealthStatus.UNAVAILABLE, "checks": checks}, 503, {"Cache-Control": "no-store"}
    return (
        {"status": HealthStatus.OK if redis_ok else HealthStatus.DEGRADED, "checks": checks},
        200,
        {"Cache-Control": "no-store"},
    )
