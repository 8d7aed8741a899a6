"""The words the API speaks: error codes and task statuses, defined once.

Both are published in the OpenAPI schema (as enums), which the web app's types are generated
from, so a code added here fails the web's typecheck until the web classifies it.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """`error.code` of every JSON error body."""

    # keys (invariant 7): the key can never name an object
    INVALID_KEY = "invalid_key"
    EMPTY_KEY = "empty_key"
    INVALID_ENCODING = "invalid_encoding"
    KEY_TOO_LONG = "key_too_long"
    CONTROL_CHARACTER = "control_character"
    ABSOLUTE_KEY = "absolute_key"
    PATH_TRAVERSAL = "path_traversal"
    PREFIX_NOT_ALLOWED = "prefix_not_allowed"
    INVALID_KEYS = "invalid_keys"
    # storage
    NOT_FOUND = "not_found"
    ACCESS_DENIED = "access_denied"
    RANGE_NOT_SATISFIABLE = "range_not_satisfiable"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    STORAGE_ERROR = "storage_error"
    SIGNATURE_INVALID = "signature_invalid"
    SIGNATURE_EXPIRED = "signature_expired"
    # requests
    VALIDATION_ERROR = "validation_error"
    RATE_LIMITED = "rate_limited"
    # werkzeug's names of HTTP statuses; any other status reads `http_error`
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    GONE = "gone"
    REQUEST_ENTITY_TOO_LARGE = "request_entity_too_large"
    REQUEST_URI_TOO_LONG = "request_uri_too_long"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    REQUEST_HEADER_FIELDS_TOO_LARGE = "request_header_fields_too_large"
    HTTP_ERROR = "http_error"
    # admin
    AUTH_REQUIRED = "auth_required"
    INVALID_TOKEN = "invalid_token"
    TASK_NOT_FOUND = "task_not_found"
    TASK_FINISHED = "task_finished"
    # infrastructure
    QUEUE_UNAVAILABLE = "queue_unavailable"
    REDIS_UNAVAILABLE = "redis_unavailable"
    INTERNAL_ERROR = "internal_error"


class TaskStatus(StrEnum):
    """Where a background task is. `lost` is not final: cleanup re-enqueues the task."""

    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    LOST = "lost"
    REVOKED = "revoked"


FINISHED_STATUSES = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.REVOKED})


class HealthStatus(StrEnum):
    """What `/readyz` says: `degraded` serves from memory and storage while Redis is away."""

    OK = "ok"
    DEGRADED = "degraded"
    UNAVAILABLE = "unavailable"


class AlertLevel(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class AlertCode(StrEnum):
    """The alerts of the admin console, at the thresholds in the settings (ALERT_*)."""

    QUEUE_UNREACHABLE = "queue_unreachable"
    QUEUE_DEPTH = "queue_depth"
    NO_WORKERS = "no_workers"
    TASK_FAILURE_RATE = "task_failure_rate"
    HIT_RATE = "hit_rate"
    DEGRADED = "degraded"
