"""Worker heartbeats: each consumer process says it is alive, with a key that expires.

A consumer's worker threads start one heartbeat thread per process (Huey's startup hooks run
once per worker thread, so it is reference-counted). Every beat refreshes
`iuc:worker:<id>` (api.redis_keys) with a TTL of three intervals and samples the queue depth into the
per-minute series for the admin charts. A worker killed with -9 stops beating; its key
expires, and the tasks it was running become `lost` once they are stale.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from importlib import metadata
from typing import Any

import redis

from api import monitoring
from api.redis_keys import NODE_PREFIX, NODES_KEY, WORKER_PREFIX, WORKERS_KEY
from api.redis_replies import text

from . import runtime
from .queue import huey

log = logging.getLogger(__name__)

MISSED_BEATS = 3

_ids: dict[int, str] = {}
_state_lock = threading.Lock()
_users = 0
_thread: threading.Thread | None = None
_stop = threading.Event()
# Called with this worker's id once its last worker thread has stopped (the status records
# register one: what is still `running` on this worker is not running any more).
on_last_stop: list[Callable[[str], None]] = []


def worker_id() -> str:
    """This process's worker id: host, pid and a random part (pids are reused)."""
    pid = os.getpid()
    if pid not in _ids:
        _ids[pid] = f"{socket.gethostname()}:{pid}:{secrets.token_hex(3)}"
    return _ids[pid]


def version() -> str:
    """The installed product's version, shown next to each worker and node."""
    try:
        return metadata.version("image-url-cache")
    except metadata.PackageNotFoundError:
        return "unknown"


def ttl_ms(interval: float) -> int:
    return max(100, int(interval * MISSED_BEATS * 1000))


def beat() -> None:
    """One heartbeat: refresh this worker's key and record the queue depth for this minute."""
    services = runtime.installed()
    now = services.clock()
    wid = worker_id()
    pipe = huey.conn.pipeline(transaction=False)
    beat_ttl = ttl_ms(services.settings.worker_heartbeat_seconds)
    pipe.set(WORKER_PREFIX + wid, json.dumps({"id": wid, "version": version(), "last_seen": now}), px=beat_ttl)
    pipe.sadd(WORKERS_KEY, wid)
    pipe.execute()
    if services.redis is not None:
        monitoring.record_queue_depth(services.redis, now, huey.pending_count())


def alive_workers(conn: redis.Redis, prefix: str = WORKER_PREFIX, members: str = WORKERS_KEY) -> list[dict[str, Any]]:
    """Workers (or, with NODE_PREFIX and NODES_KEY, API nodes) whose heartbeat key has not
    expired, as [{"id", "version", "last_seen"}]; forgets dead ones."""
    ids = sorted(text(m) for m in conn.smembers(members))
    if not ids:
        return []
    values = conn.mget([prefix + i for i in ids])
    alive, dead = [], []
    for wid, raw in zip(ids, values):
        if raw is None:
            dead.append(wid)
        else:
            alive.append(json.loads(raw))
    if dead:
        conn.srem(members, *dead)
    return alive


def alive_nodes(conn: redis.Redis) -> list[dict[str, Any]]:
    return alive_workers(conn, NODE_PREFIX, NODES_KEY)


class NodeHeartbeat:
    """An API node's heartbeat, as workers have one: `iuc:node:<id>` in the queue's Redis,
    refreshed every WORKER_HEARTBEAT_SECONDS, so the admin console lists the serving nodes."""

    def __init__(self, interval: float, clock: Callable[[], float]) -> None:
        self.interval = interval
        self.clock = clock
        self.id = worker_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        value = json.dumps({"id": self.id, "version": version(), "last_seen": self.clock()})
        pipe = huey.conn.pipeline(transaction=False)
        pipe.set(NODE_PREFIX + self.id, value, px=ttl_ms(self.interval))
        pipe.sadd(NODES_KEY, self.id)
        pipe.execute()

    def start(self) -> threading.Thread:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    self.beat()
                except Exception:  # Redis away: keep trying; the key expiring is the right signal
                    log.warning("node heartbeat failed", exc_info=True)
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=run, name="iuc-node-heartbeat", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)  # no beat after the key is removed
        try:
            huey.conn.delete(NODE_PREFIX + self.id)
            huey.conn.srem(NODES_KEY, self.id)
        except Exception:  # no queue configured, or Redis away: the key expires by itself
            pass


def _run(interval: float) -> None:
    while not _stop.is_set():
        try:
            beat()
        except Exception:  # Redis away: keep trying; the key expiring is the right signal
            log.warning("worker heartbeat failed", exc_info=True)
        _stop.wait(interval)


def start() -> None:
    """Start beating (idempotent per process; pairs with `stop`)."""
    global _users, _thread
    with _state_lock:
        _users += 1
        if _thread is not None and _thread.is_alive():
            return
        _stop.clear()
        interval = runtime.installed().settings.worker_heartbeat_seconds
        try:
            beat()  # be visible before the first task runs
        except Exception:
            log.warning("first worker heartbeat failed", exc_info=True)
        _thread = threading.Thread(target=_run, args=(interval,), name="iuc-heartbeat", daemon=True)
        _thread.start()


def stop() -> None:
    """Stop beating once the last worker thread of this process stops; the key is removed."""
    global _users, _thread
    with _state_lock:
        _users = max(0, _users - 1)
        if _users or _thread is None:
            return
        _stop.set()
        _thread.join(5)
        _thread = None
        for hook in on_last_stop:
            try:
                hook(worker_id())
            except Exception:  # Redis away: the staleness rule finds the tasks later
                log.warning("could not release this worker's tasks", exc_info=True)
        try:
            huey.conn.delete(WORKER_PREFIX + worker_id())
            huey.conn.srem(WORKERS_KEY, worker_id())
        except redis.RedisError:
            pass


@huey.on_startup("iuc-heartbeat")
def _on_worker_start() -> None:
    start()


@huey.on_shutdown("iuc-heartbeat")
def _on_worker_stop() -> None:
    stop()
