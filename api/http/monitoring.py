"""Monitoring (admin): dashboard stats with alerts, a per-minute series, Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import Response
from flask_smorest import Blueprint

import jobs

from .. import metrics, monitoring
from ..vocabulary import ErrorCode
from . import auth, context
from .errors import ApiError
from .schemas_admin import StatsSchema, TimeseriesArgsSchema, TimeseriesSchema

bp = auth.protect(
    Blueprint("monitoring", __name__, url_prefix="/api/v1/monitoring", description="Monitoring (admin token required)")
)
metrics_bp = FlaskBlueprint("metrics", __name__)


@bp.route("/stats")
@bp.response(200, StatsSchema)
@bp.doc(security=auth.SECURITY)
def stats():
    """Hit rates per tier and overall, storage calls and errors, refresh outcomes, queue,
    workers, task failure rate and alerts."""
    return monitoring.collect_stats(context.url_cache(), context.settings(), jobs.queue_state())


@bp.route("/timeseries")
@bp.arguments(TimeseriesArgsSchema, location="query", error_status_code=400)
@bp.response(200, TimeseriesSchema)
@bp.doc(security=auth.SECURITY)
def timeseries(args: dict):
    """Per-minute hits, misses, storage errors and queue depth, oldest first (up to 24 h)."""
    cache = context.url_cache()
    if cache.redis is None:
        raise ApiError(503, ErrorCode.REDIS_UNAVAILABLE, "The time series lives in Redis, which is not configured.")
    return {"points": monitoring.timeseries(cache.redis, cache.clock(), args["minutes"])}  # RedisError: 503


@metrics_bp.route("/metrics")
def prometheus_metrics():
    """Prometheus text format; needs the admin token unless METRICS_PUBLIC=true."""
    if not context.settings().metrics_public:
        auth.check_admin()
    state = jobs.queue_state()
    gauges = {"iuc_workers_alive": ("Job workers with a live heartbeat", len(state.workers))}
    if state.pending is not None:
        gauges["iuc_queue_pending"] = ("Jobs waiting in the queue", state.pending)
        gauges["iuc_queue_scheduled"] = ("Jobs scheduled for later (retries)", state.scheduled or 0)
    return Response(
        metrics.render(gauges), headers={"Content-Type": metrics.CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
    )
