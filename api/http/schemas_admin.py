"""Schemas of the admin API: tasks, cache flush, monitoring."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from marshmallow import fields, validate

from ..monitoring import MAX_SERIES_MINUTES
from ..redis_topology import RedisTopology
from ..storage.variants import MAX_REQUEST_WIDTH
from ..vocabulary import AlertCode, AlertLevel, TaskStatus


class _Schema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE


# -- tasks ---------------------------------------------------------------------------------
class RefreshTaskArgsSchema(_Schema):
    image_key = fields.Raw(required=True, metadata={"description": "Object key to revalidate"})


class BatchRefreshTaskArgsSchema(_Schema):
    image_keys = fields.List(
        fields.Raw(), required=True, metadata={"description": "Object keys (max BATCH_MAX_KEYS, 10,000 by default)"}
    )

    @ma.validates("image_keys")
    def _cap(self, keys: list, **_: object) -> None:
        cap = current_app.extensions["settings"].batch_max_keys
        if not keys:
            raise ma.ValidationError("Give at least one key.")
        if len(keys) > cap:
            raise ma.ValidationError(f"At most {cap} keys per batch, got {len(keys)}.")


class WarmTaskArgsSchema(_Schema):
    prefix = fields.String(
        required=True, validate=validate.Length(max=850), metadata={"description": "Key prefix to load ('' for all)"}
    )
    widths = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=MAX_REQUEST_WIDTH)),
        load_default=list,
        validate=validate.Length(max=16),
        metadata={"description": "Also render the `f=auto` variants at these widths (local store)"},
    )


class TaskAcceptedSchema(_Schema):
    task_id = fields.String(dump_only=True)
    status = fields.Enum(TaskStatus, by_value=True, dump_only=True, metadata={"description": "`queued`"})


class BatchAcceptedSchema(_Schema):
    task_id = fields.String(dump_only=True)
    count = fields.Integer(dump_only=True, metadata={"description": "Distinct keys queued"})


class ProgressSchema(_Schema):
    done = fields.Integer(dump_only=True, metadata={"description": "Keys completed successfully"})
    failed = fields.Integer(dump_only=True, metadata={"description": "Keys that failed (or were skipped)"})
    total = fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "All keys; null while unknown (a warm still listing)"}
    )


class TaskSchema(_Schema):
    task_id = fields.String(dump_only=True)
    name = fields.String(dump_only=True, metadata={"description": "refresh, batch_refresh, warm, pre_refresh, cleanup"})
    status = fields.Enum(TaskStatus, by_value=True, dump_only=True)
    progress = fields.Nested(ProgressSchema, dump_only=True, allow_none=True)
    enqueued_at = fields.Float(dump_only=True, allow_none=True, metadata={"description": "Epoch seconds"})
    started_at = fields.Float(dump_only=True, allow_none=True, metadata={"description": "Epoch seconds"})
    finished_at = fields.Float(dump_only=True, allow_none=True, metadata={"description": "Epoch seconds"})
    result = fields.Raw(dump_only=True, allow_none=True)
    error = fields.String(dump_only=True, allow_none=True, metadata={"description": "`code: reason` of a failure"})
    retries = fields.Integer(dump_only=True, metadata={"description": "Times the queue retried it"})
    requeued = fields.Integer(
        dump_only=True, metadata={"description": "Times it was put back after its worker stopped"}
    )
    worker = fields.String(dump_only=True, allow_none=True, metadata={"description": "Worker that ran it last"})


class TaskListArgsSchema(_Schema):
    status = fields.Enum(TaskStatus, by_value=True, load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class TaskListSchema(_Schema):
    items = fields.List(fields.Nested(TaskSchema), dump_only=True)


# -- cache -----------------------------------------------------------------------------------
class CacheFlushArgsSchema(_Schema):
    prefix = fields.String(load_default="", validate=validate.Length(max=850))


class CacheFlushedSchema(_Schema):
    flushed = fields.Integer(dump_only=True, metadata={"description": "Shared-cache entries removed"})


# -- monitoring ------------------------------------------------------------------------------
class _Tier(_Schema):
    hits = fields.Integer()
    misses = fields.Integer()
    hit_rate = fields.Float(allow_none=True, metadata={"description": "0..1, null without traffic"})


class _CacheStats(_Schema):
    l1 = fields.Nested(_Tier)
    l2 = fields.Nested(_Tier)
    overall = fields.Nested(_Tier, metadata={"description": "Lookups served without a storage call"})
    signs = fields.Integer()
    storage_calls = fields.Integer()
    storage_errors = fields.Integer()


class _Refresh(_Schema):
    succeeded = fields.Integer()
    failed = fields.Integer()


class _Queue(_Schema):
    pending = fields.Integer(allow_none=True)
    scheduled = fields.Integer(allow_none=True)


class _Worker(_Schema):
    id = fields.String()
    version = fields.String()
    last_seen = fields.Float()


class _Redis(_Schema):
    redis_topology = fields.String(
        required=True,
        validate=validate.OneOf([t.value for t in RedisTopology]),
        metadata={"description": "Which deployment"},
    )
    redis_primary = fields.String(dump_only=True, metadata={"description": "Sentinel: the primary's host:port"})
    redis_shards = fields.String(dump_only=True, metadata={"description": "Cluster: primaries answering, `2/3 up`"})
    redis_topology_error = fields.String(
        dump_only=True, metadata={"description": "Why the deployment could not be asked"}
    )


class _Tasks(_Schema):
    succeeded = fields.Integer()
    failed = fields.Integer()
    failure_rate = fields.Float(allow_none=True)


class AlertSchema(_Schema):
    code = fields.Enum(AlertCode, by_value=True)
    level = fields.Enum(AlertLevel, by_value=True)
    message = fields.String()
    value = fields.Float()
    threshold = fields.Float()


class StatsSchema(_Schema):
    cache = fields.Nested(_CacheStats, dump_only=True)
    refresh = fields.Nested(_Refresh, dump_only=True)
    queue = fields.Nested(_Queue, dump_only=True)
    workers = fields.List(fields.Nested(_Worker), dump_only=True)
    nodes = fields.List(fields.Nested(_Worker), dump_only=True, metadata={"description": "API nodes"})
    redis = fields.Nested(
        _Redis, dump_only=True, metadata={"description": "The cache's Redis deployment, as `/readyz` shows it"}
    )
    tasks = fields.Nested(_Tasks, dump_only=True)
    alerts = fields.List(fields.Nested(AlertSchema), dump_only=True)
    degraded = fields.Boolean(dump_only=True)
    generated_at = fields.Float(dump_only=True)


class TimeseriesArgsSchema(_Schema):
    minutes = fields.Integer(load_default=60, validate=validate.Range(min=1, max=MAX_SERIES_MINUTES))


class PointSchema(_Schema):
    t = fields.Integer(metadata={"description": "Start of the minute, epoch seconds"})
    hits = fields.Integer()
    misses = fields.Integer()
    errors = fields.Integer(metadata={"description": "Storage errors"})
    queue_depth = fields.Integer(allow_none=True, metadata={"description": "Sampled by workers; null if none"})


class TimeseriesSchema(_Schema):
    points = fields.List(fields.Nested(PointSchema), dump_only=True)
