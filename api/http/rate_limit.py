"""Rate limiting with flask-limiter and the `limits` library it is built on, per client address.

The client is `request.remote_addr`: the socket's peer, or with TRUSTED_PROXY_HOPS the address
the trusted proxies saw (werkzeug's ProxyFix, installed by `create_app`), never a header a client
can invent.

The JSON API (resolve, listing) shares RATE_LIMIT_PUBLIC per client in Redis, so every worker and
node counts against one budget. Delivery routes (`/i/`, `/p/`, `/objects/`) are the hot path: an
L1 hit needs no Redis at all, and a Redis-backed check there halved redirect throughput
(docs/BENCHMARKS.md, row 1b), so they are limited per worker process in memory by a token bucket
(RATE_LIMIT_DELIVERY_BURST, then RATE_LIMIT_DELIVERY_RATE per second; `token_bucket.py`): a
gallery's burst is served, a hammering loop is held to the rate. Probes, docs, `/metrics` and
the web app are not limited. A 429 uses the API's JSON error shape and
carries `Retry-After`. If Redis is away, the shared limits fall back to per-process memory
instead of failing requests.

Two budgets are counted in what they protect rather than in requests, with `limits` costs:
- storage calls caused by misses (RATE_LIMIT_STORAGE_MISSES): a lookup pays one unit per key
  that has no fresh entry, positive or negative, so hits and listing-seeded keys cost nothing
  while a batch of made-up keys costs its size (`miss_budget`, passed to the cache);
- failed admin tokens (RATE_LIMIT_AUTH_FAILURES): only a wrong token is counted and refused; the
  valid token is checked first and never limited (`auth.check_admin` calls `auth_failed`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable

from flask import Blueprint, Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from ..cache.breaker import RedisBreaker
from ..cache.budget import Admit, StorageBudgetExceeded
from ..clock import Clock
from ..redis_keys import RATE_LIMIT_PREFIX
from ..redis_topology import RedisTopology, limiter_storage, topology
from ..settings import Settings
from ..vocabulary import ErrorCode
from .errors import ApiError, error_response
from .token_bucket import TokenBuckets

log = logging.getLogger(__name__)
BUDGETS = "iuc_budgets"


def storage_uri(settings: Settings) -> str:
    """The limits library's URI of the configured topology (redis://, redis+sentinel://, ...)."""
    return limiter_storage(settings)[0]


def _storage_options(settings: Settings) -> dict:
    return limiter_storage(settings)[1]


def init_app(
    app: Flask,
    settings: Settings,
    breaker: RedisBreaker,
    public: Iterable[Blueprint],
    delivery: Iterable[Blueprint],
    clock: Clock,
) -> Limiter:
    if settings.rate_limit_enabled:
        app.before_request(_per_process_check(settings, {bp.name for bp in delivery}, clock))
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=storage_uri(settings),
        storage_options=_storage_options(settings),
        strategy="sliding-window-counter",
        key_prefix=RATE_LIMIT_PREFIX,
        default_limits=[],
        headers_enabled=False,  # Retry-After only on 429s, set below
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        enabled=settings.rate_limit_enabled,
    )
    public = list(public)
    _check_only_on(app, limiter, {bp.name for bp in public})
    shared_public = limiter.shared_limit(settings.rate_limit_public, scope="public")
    for bp in public:
        shared_public(bp)

    @app.errorhandler(RateLimitExceeded)
    def _too_many_requests(error: RateLimitExceeded):
        current = limiter.current_limit
        if current is not None:
            retry_after = math.ceil(current.reset_at - time.time())
        else:
            retry_after = error.limit.limit.get_expiry()
        return _rate_limited(str(error.limit.limit), retry_after)

    @app.errorhandler(StorageBudgetExceeded)
    def _budget_spent(error: StorageBudgetExceeded):
        return _rate_limited(
            error.limit,
            error.retry_after,
            "Too many lookups of keys that are not cached, each costing a storage call: the limit is "
            f"{error.limit} storage calls.",
            "storage_misses",
        )

    app.extensions["iuc_limiter"] = limiter
    if settings.rate_limit_enabled:
        app.extensions[BUDGETS] = {
            "storage_misses": CostLimiter(settings, settings.rate_limit_storage_misses, "storage-misses", breaker),
            "auth_failures": CostLimiter(settings, settings.rate_limit_auth_failures, "admin-auth-failures", breaker),
        }
    return limiter


def _check_only_on(app: Flask, limiter: Limiter, blueprints: set[str]) -> None:
    """Run flask-limiter's app-wide before_request check only on the blueprints it limits.

    Even where a request filter exempts a route, that check resolves the blueprint's exemption
    scopes first, tens of microseconds on every request of the delivery hot path (which its
    token bucket limits instead). flask-limiter has no per-blueprint check, so its hook is
    swapped, in place, for a gated one."""
    check = limiter._check_request_limit
    hooks = app.before_request_funcs.setdefault(None, [])
    if check not in hooks:  # a disabled limiter installs no hook
        return

    def check_limited_blueprint() -> None:
        if request.blueprint in blueprints:
            check()

    hooks[hooks.index(check)] = check_limited_blueprint


class CostLimiter:
    """Limits counted in units a request spends (storage calls, failed tokens), kept in the
    limiter's Redis so every worker and node shares them; in process memory while the cache's
    breaker says Redis is down (so a dead Redis costs no socket timeout per request)."""

    def __init__(self, settings: Settings, limits_text: str, scope: str, breaker: RedisBreaker) -> None:
        self.items = parse_many(limits_text)
        self.scope = scope
        self.breaker = breaker
        self._shared = SlidingWindowCounterRateLimiter(
            storage_from_string(storage_uri(settings), **_storage_options(settings))
        )
        self._memory = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._in_memory = topology(settings) is RedisTopology.NONE

    def spend(self, client: str, cost: int = 1) -> tuple[str, float] | None:
        """Spend `cost` units of `client`'s budget; (limit, seconds to wait) if it is spent."""
        ids = (RATE_LIMIT_PREFIX, self.scope, client)
        for item in self.items:
            strategy = self._memory if self._in_memory or self.breaker.open else self._shared
            try:
                allowed = strategy.hit(item, *ids, cost=cost)
            except self._shared.storage.base_exceptions as error:
                log.warning("rate limit storage unreachable, counting in memory: %s", error)
                self.breaker.trip()
                strategy = self._memory
                allowed = strategy.hit(item, *ids, cost=cost)
            if not allowed:
                reset_at = strategy.get_window_stats(item, *ids).reset_time
                return str(item), reset_at - time.time()
        return None


def miss_budget() -> Admit | None:
    """The current client's admission of storage calls on misses (None: limits are off)."""
    return _admit_storage_calls if BUDGETS in current_app.extensions else None


def _admit_storage_calls(cost: int) -> None:
    """Spend `cost` storage calls of the current client's budget (only a miss calls this, so a
    hit pays for no closure and no address lookup)."""
    limiter: CostLimiter = current_app.extensions[BUDGETS]["storage_misses"]
    spent = limiter.spend(get_remote_address(), cost)
    if spent is not None:
        raise StorageBudgetExceeded(*spent)


def auth_failed() -> None:
    """Count a wrong admin token; raise 429 once this client has had too many."""
    budgets = current_app.extensions.get(BUDGETS)
    if budgets is None:
        return
    spent = budgets["auth_failures"].spend(get_remote_address())
    if spent is not None:
        limit, retry_after = spent
        seconds = max(1, math.ceil(retry_after))
        raise ApiError(
            429,
            ErrorCode.RATE_LIMITED,
            f"Too many wrong admin tokens: the limit is {limit}. Retry after {seconds} s.",
            {"limit": limit, "budget": "auth_failures"},
            headers={"Retry-After": str(seconds)},
        )


def _rate_limited(limit: str, retry_after: float, why: str = "", budget: str = "requests"):
    seconds = max(1, math.ceil(retry_after))
    why = why or f"Too many requests: the limit is {limit}."
    return error_response(
        429,
        ErrorCode.RATE_LIMITED,
        f"{why} Retry after {seconds} s.",
        {"limit": limit, "budget": budget},
        headers={"Retry-After": str(seconds)},
    )


def _per_process_check(settings: Settings, blueprints: set[str], clock: Clock):
    """A before_request hook spending one token of the client's delivery bucket in this process."""
    buckets = TokenBuckets(settings.rate_limit_delivery_burst, settings.rate_limit_delivery_rate, clock)
    limit = f"burst {settings.rate_limit_delivery_burst}, then {settings.rate_limit_delivery_rate:g} per second"

    def check():
        if request.blueprint not in blueprints:
            return None
        wait = buckets.take(request.remote_addr or "unknown")
        return _rate_limited(limit, wait) if wait else None

    return check
