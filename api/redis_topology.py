"""Every Redis client the product uses, built from one settings surface.

Three deployments, chosen by which setting is given (`Settings.validate` rejects contradictions):
- `REDIS_URL`: one server (`redis://`, `rediss://` for TLS, `unix://`);
- `REDIS_SENTINELS` + `REDIS_SENTINEL_MASTER`: a Sentinel group. redis-py's Sentinel pools ask
  the sentinels where the primary is on every new connection, so cache, counters, limits and the
  job queue follow a failover without a restart;
- `REDIS_CLUSTER_NODES`: a Redis Cluster, through redis-py's RedisCluster, for cache, counters
  and limits. Huey needs one keyspace, so the queue then runs on `HUEY_REDIS_URL` (or Sentinel).

Cache clients retry nothing: a failed call trips the cache's breaker (degraded mode) instead, so
no request waits longer than `REDIS_TIMEOUT_SECONDS` per call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import StrEnum
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from limits.storage import RedisClusterStorage, Storage
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry
from redis.sentinel import Sentinel

from .settings import Settings, SettingsError


class RedisTopology(StrEnum):
    NONE = "none"  # no Redis: memory only (the launcher starts an embedded one instead)
    STANDALONE = "standalone"
    SENTINEL = "sentinel"
    CLUSTER = "cluster"


def topology(settings: Settings) -> RedisTopology:
    if settings.redis_cluster_nodes:
        return RedisTopology.CLUSTER
    if settings.redis_sentinels:
        return RedisTopology.SENTINEL
    if settings.redis_url:
        return RedisTopology.STANDALONE
    return RedisTopology.NONE


def _addresses(nodes: tuple[str, ...]) -> list[tuple[str, int]]:
    out = []
    for node in nodes:
        host, _, port = node.rpartition(":")
        out.append((host.strip("[]"), int(port)))
    return out


def _sentinel(settings: Settings, timeout: float) -> Sentinel:
    return Sentinel(
        _addresses(settings.redis_sentinels),
        sentinel_kwargs={
            "password": settings.redis_sentinel_password,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
        },
        password=settings.redis_password,
    )


def _cache_options(settings: Settings) -> dict[str, Any]:
    t = settings.redis_timeout_seconds
    return {"socket_timeout": t, "socket_connect_timeout": t, "retry": Retry(NoBackoff(), 0)}


def cache_client(settings: Settings) -> redis.Redis | None:
    """The client of cache entries, counters and usage; None when no Redis is configured."""
    kind = topology(settings)
    options = _cache_options(settings)
    if kind is RedisTopology.STANDALONE:
        assert settings.redis_url
        return redis.Redis.from_url(settings.redis_url, health_check_interval=30, **options)
    if kind is RedisTopology.SENTINEL:
        assert settings.redis_sentinel_master
        sentinel = _sentinel(settings, settings.redis_timeout_seconds)
        return sentinel.master_for(settings.redis_sentinel_master, db=settings.redis_db, **options)
    if kind is RedisTopology.CLUSTER:
        nodes = [ClusterNode(h, p) for h, p in _addresses(settings.redis_cluster_nodes)]

        def connect() -> RedisCluster:
            return RedisCluster(
                startup_nodes=nodes,
                password=settings.redis_password,
                socket_timeout=options["socket_timeout"],
                socket_connect_timeout=options["socket_connect_timeout"],
                retry=Retry(NoBackoff(), 1),  # one retry lets a moved slot or a promoted replica answer
            )

        # RedisCluster offers the same command methods as redis.Redis (redis-py types it apart);
        # the few multi-key calls that differ are routed by `is_cluster` (api.cache.shared).
        return cast(redis.Redis, LazyCluster(connect))
    return None


class LazyCluster:
    """A RedisCluster built on first use. redis-py's RedisCluster asks a node for the slot map
    when it is built and raises if none answers; a node must start, and serve degraded, while
    the cluster is away, so the client is built by the first call that needs it (and again by
    a later call after a failure). Hand-written: redis-py's sync client has no lazy mode."""

    def __init__(self, connect: Callable[[], RedisCluster]) -> None:
        self._connect = connect
        self._client: RedisCluster | None = None
        self._lock = threading.Lock()

    def connect(self) -> RedisCluster:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    try:
                        self._client = self._connect()
                    except RedisClusterException as error:  # not a RedisError: the breaker needs one
                        raise redis.ConnectionError(str(error)) from error
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connect(), name)


class LazyRedisClusterStorage(RedisClusterStorage):
    """The `limits` cluster storage, connected on first use. Its parent builds a RedisCluster,
    which asks for the slot map and raises when no node answers, so flask-limiter would fail at
    start while the cluster is away; here the client (and its Lua scripts) are made by the first
    call that needs them, and again after a failed attempt, while flask-limiter counts in memory
    meanwhile. Hand-written: `limits` has no lazy mode. Registered under its own URI scheme."""

    STORAGE_SCHEME = ["iuc+redis+cluster"]  # noqa: RUF012 - typed as the parent types it

    def __init__(
        self, uri: str, key_prefix: str = RedisClusterStorage.PREFIX, wrap_exceptions: bool = False, **options: Any
    ) -> None:
        self._deferred = (uri.removeprefix("iuc+"), key_prefix, wrap_exceptions, options)
        self._connecting = threading.Lock()
        self.key_prefix = key_prefix
        self.target_server = "redis"
        self.dependency = redis  # `base_exceptions` reads it: it must not connect
        Storage.__init__(self, uri, wrap_exceptions)

    def __getattr__(self, name: str) -> Any:
        # Called only for missing attributes: before the first connection, the parent's client
        # (`storage`) and Lua scripts (`lua_*`).
        if (name != "storage" and not name.startswith("lua_")) or "_deferred" not in self.__dict__:
            raise AttributeError(name)
        with self._connecting:
            if self.__dict__.get("storage") is None:
                uri, key_prefix, wrap_exceptions, options = self._deferred
                try:
                    RedisClusterStorage.__init__(self, uri, key_prefix, wrap_exceptions, **options)
                except RedisClusterException as error:  # not a RedisError: flask-limiter needs one
                    self.__dict__.pop("storage", None)
                    raise redis.ConnectionError(str(error)) from error
        return object.__getattribute__(self, name)


def is_cluster(client: object) -> bool:
    return isinstance(client, (RedisCluster, LazyCluster))


def queue_pool(settings: Settings, connect_timeout: float, read_timeout: float) -> tuple[str, redis.ConnectionPool]:
    """(description, pool) of the job queue's Redis: HUEY_REDIS_URL, else the Sentinel primary,
    else REDIS_URL's server in db HUEY_REDIS_DB."""
    options: dict[str, Any] = {"socket_connect_timeout": connect_timeout, "socket_timeout": read_timeout}
    if settings.huey_redis_url:
        url = settings.huey_redis_url
        return url, redis.ConnectionPool.from_url(url, health_check_interval=30, **options)
    if settings.redis_sentinels:
        assert settings.redis_sentinel_master
        sentinel = _sentinel(settings, connect_timeout)
        client = sentinel.master_for(settings.redis_sentinel_master, db=settings.huey_redis_db, **options)
        description = f"sentinel:{','.join(settings.redis_sentinels)}/{settings.redis_sentinel_master}"
        return f"{description}/{settings.huey_redis_db}", client.connection_pool
    if settings.redis_url:
        url = huey_url(settings.redis_url, settings.huey_redis_db)
        return url, redis.ConnectionPool.from_url(url, health_check_interval=30, **options)
    raise SettingsError("the job queue needs Redis: set REDIS_URL, REDIS_SENTINELS or HUEY_REDIS_URL")


def huey_url(redis_url: str, db: int) -> str:
    """The app's Redis URL pointed at the queue's db (path for redis://, `?db=` for unix://)."""
    parts = urlsplit(redis_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"]
    if parts.scheme in ("redis", "rediss"):
        return urlunsplit(parts._replace(path=f"/{db}", query=urlencode(query)))
    if parts.scheme == "unix":  # built by hand: urlunsplit would drop the empty host's "//"
        return f"unix://{parts.netloc}{parts.path}?{urlencode(query + [('db', str(db))])}"
    raise SettingsError(
        f"REDIS_URL scheme {parts.scheme!r} cannot carry the job queue (use redis://, rediss:// or unix://)"
    )


def limiter_storage(settings: Settings) -> tuple[str, dict[str, Any]]:
    """(storage URI, options) of the rate limits in the `limits` library's terms."""
    t = settings.redis_timeout_seconds
    timeouts: dict[str, Any] = {"socket_timeout": t, "socket_connect_timeout": t}
    kind = topology(settings)
    if kind is RedisTopology.SENTINEL:
        uri = f"redis+sentinel://{','.join(settings.redis_sentinels)}/{settings.redis_sentinel_master}"
        options = {
            **timeouts,
            "db": settings.redis_db,
            "use_replicas": False,  # a replica's counts lag: limits are read where they are written
            "sentinel_kwargs": {**timeouts, "password": settings.redis_sentinel_password},
        }
        if settings.redis_password:
            options["password"] = settings.redis_password
        return uri, options
    if kind is RedisTopology.CLUSTER:
        uri = LazyRedisClusterStorage.STORAGE_SCHEME[0] + "://" + ",".join(settings.redis_cluster_nodes)
        options = dict(timeouts)
        if settings.redis_password:
            options["password"] = settings.redis_password
        return uri, options
    url = settings.redis_url
    if not url:
        return "memory://", {}
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://") :], timeouts
    return url, timeouts


def describe(settings: Settings, client: redis.Redis | None) -> dict[str, str]:
    """What `/readyz` and the admin stats show: the topology, the Sentinel primary's address or
    the cluster's shards up. Asks the deployment now (a few round trips): probes only."""
    kind = topology(settings)
    out = {"redis_topology": kind.value}
    try:
        if kind is RedisTopology.SENTINEL:
            assert settings.redis_sentinel_master
            host, port = _sentinel(settings, settings.redis_timeout_seconds).discover_master(
                settings.redis_sentinel_master
            )
            out["redis_primary"] = f"{host}:{port}"
        elif kind is RedisTopology.CLUSTER and is_cluster(client):
            primaries = cast(LazyCluster, client).connect().get_primaries()
            up = sum(1 for node in primaries if _answers(node))
            out["redis_shards"] = f"{up}/{len(primaries)} up"
    except redis.RedisError as error:
        out["redis_topology_error"] = type(error).__name__
    return out


def _answers(node: ClusterNode) -> bool:
    connection = node.redis_connection
    if connection is None:
        return False
    try:
        return bool(connection.ping())
    except redis.RedisError:
        return False
