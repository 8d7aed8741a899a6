"""Rate limiting with flask-limiter, per client address.

The JSON API (resolve, listing) shares RATE_LIMIT_PUBLIC per client in Redis, so every worker and
node counts against one budget; admin routes count only failed token attempts
(RATE_LIMIT_AUTH_FAILURES), which makes guessing the token slow without ever limiting the console.
Delivery routes (`/i/`, `/p/`, `/objects/`) are the hot path: an L1 hit needs no Redis at all, and
a Redis-backed check there halved redirect throughput (docs/BENCHMARKS.md, row 1b), so they are
limited per worker process in memory (RATE_LIMIT_DELIVERY), through the `limits` library that
flask-limiter is built on: flask-limiter's per-request evaluation alone cost a third of the
redirect's throughput, a direct fixed-window hit costs about 2 µs. Probes, docs, `/metrics` and the web
app are not limited. A 429 uses the API's JSON error shape and carries `Retry-After`. If Redis is
away, the shared limits fall back to per-process memory instead of failing requests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

from flask import Blueprint, Flask, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from ..redis_keys import RATE_LIMIT_PREFIX
from ..settings import Settings
from ..vocabulary import ErrorCode
from .errors import error_response


def storage_uri(settings: Settings) -> str:
    url = settings.redis_url
    if not url:
        return "memory://"
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://") :]
    return url


def init_app(
    app: Flask,
    settings: Settings,
    public: Iterable[Blueprint],
    delivery: Iterable[Blueprint],
    admin: Iterable[Blueprint],
) -> Limiter:
    if settings.rate_limit_enabled:
        app.before_request(_per_process_check(settings.rate_limit_delivery, {bp.name for bp in delivery}))
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=storage_uri(settings),
        # flask-limiter types these as str | int, but they are redis-py's keyword arguments.
        storage_options={
            "socket_timeout": settings.redis_timeout_seconds,  # type: ignore[dict-item]
            "socket_connect_timeout": settings.redis_timeout_seconds,  # type: ignore[dict-item]
        },
        strategy="sliding-window-counter",
        key_prefix=RATE_LIMIT_PREFIX,
        default_limits=[],
        headers_enabled=False,  # Retry-After only on 429s, set below
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        enabled=settings.rate_limit_enabled,
    )
    public, admin = list(public), list(admin)
    limited = {bp.name for bp in public + admin}

    @limiter.request_filter
    def _not_limited_here() -> bool:
        """Skip flask-limiter's evaluation early on every other route (it cost ~45 us each)."""
        return request.blueprint not in limited

    shared_public = limiter.shared_limit(settings.rate_limit_public, scope="public")
    for bp in public:
        shared_public(bp)
    auth_failures = limiter.shared_limit(
        settings.rate_limit_auth_failures,
        scope="admin-auth-failures",
        deduct_when=lambda response: response.status_code in (401, 403),
    )
    for bp in admin:
        auth_failures(bp)

    @app.errorhandler(RateLimitExceeded)
    def _too_many_requests(error: RateLimitExceeded):
        current = limiter.current_limit
        if current is not None:
            retry_after = math.ceil(current.reset_at - time.time())
        else:
            retry_after = error.limit.limit.get_expiry()
        return _rate_limited(str(error.limit.limit), retry_after)

    app.extensions["iuc_limiter"] = limiter
    return limiter


def _rate_limited(limit: str, retry_after: float):
    seconds = max(1, math.ceil(retry_after))
    return error_response(
        429,
        ErrorCode.RATE_LIMITED,
        f"Too many requests: the limit is {limit}. Retry after {seconds} s.",
        {"limit": limit},
        headers={"Retry-After": str(seconds)},
    )


def _per_process_check(limits_text: str, blueprints: set[str]):
    """A before_request hook counting each client's requests to `blueprints` in this process."""
    items = parse_many(limits_text)
    counter = FixedWindowRateLimiter(MemoryStorage())

    def check():
        if request.blueprint not in blueprints:
            return None
        client = request.remote_addr or "unknown"
        for item in items:
            if not counter.hit(item, "delivery", client):
                reset_at = counter.get_window_stats(item, "delivery", client).reset_time
                return _rate_limited(str(item), reset_at - time.time())
        return None

    return check
