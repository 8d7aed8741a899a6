"""Invalidation broadcast: a flush or a changed etag on one node reaches every node's L1.

Each change is published on one Redis pub/sub channel; every serving process listens from a
daemon thread and drops what it names from its L1. Pub/sub is best effort: a message published
while a node is away is lost, so L1_TTL_SECONDS stays the bound on staleness then. The listener
resubscribes after any error (a Sentinel failover, a restarted server), through the same client,
so it follows the primary.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable

import redis

from ..redis_keys import INVALIDATE_CHANNEL
from .breaker import RedisBreaker

log = logging.getLogger(__name__)
Drop = Callable[[str | None, str | None], None]  # (prefix, key): both None drops everything


class InvalidationBus:
    def __init__(self, breaker: RedisBreaker, drop: Drop, retry_seconds: float) -> None:
        self.breaker = breaker
        self.drop = drop
        self.retry_seconds = max(retry_seconds, 0.05)
        self.node = uuid.uuid4().hex  # a node ignores its own messages: it dropped them already
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.subscribed = threading.Event()  # set while listening (readiness, tests)

    def publish(self, prefix: str | None = None, key: str | None = None, keys: list[str] | None = None) -> None:
        """Tell the other nodes; skipped while Redis is down (L1_TTL_SECONDS bounds them)."""
        message = json.dumps({"node": self.node, "prefix": prefix, "key": key, "keys": keys})
        self.breaker.call(lambda client: client.publish(INVALIDATE_CHANNEL, message), None)

    def start(self) -> threading.Thread | None:
        if self.breaker.client is None or self._thread is not None:
            return self._thread
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="cache-invalidations", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, wait: float = 2.0) -> None:
        """Stop listening; waits (bounded) for the listener, whose poll returns within 0.5 s, so
        a closed node has no thread left talking to a Redis that may stop next."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait)

    def _run(self) -> None:
        client = self.breaker.client
        assert client is not None
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(INVALIDATE_CHANNEL)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if pubsub.subscribed:
                        self.subscribed.set()
                    if message is not None:
                        self._apply(message.get("data"))
            except (redis.RedisError, OSError) as error:
                log.warning("invalidation channel lost, resubscribing: %s", error)
            finally:
                self.subscribed.clear()
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except (redis.RedisError, OSError):
                        pass
            self._stop.wait(self.retry_seconds)

    def _apply(self, data: object) -> None:
        try:
            message = json.loads(data if isinstance(data, (str, bytes)) else "")
        except ValueError:
            log.warning("ignoring a malformed invalidation message")
            return
        if not isinstance(message, dict) or message.get("node") == self.node:
            return
        keys = message.get("keys")
        if isinstance(keys, list):
            for key in keys:
                if isinstance(key, str):
                    self.drop(None, key)
            return
        prefix, key = message.get("prefix"), message.get("key")
        self.drop(prefix if isinstance(prefix, str) else None, key if isinstance(key, str) else None)
