"""Single-flight storage calls: however many requests miss one key at once, storage is asked
once and every caller gets that one answer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

R = TypeVar("R")


class SingleFlight(Generic[R]):
    """Runs `call(key)` once per key in flight (the first caller's `call`; later callers wait for
    its answer). Several owned keys run concurrently in a bounded pool, a single one in the
    caller's thread (no hand-off cost in the common case)."""

    def __init__(self, workers: int = 16) -> None:
        self._inflight: dict[str, Future[R]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="head")

    def run(
        self, keys: list[str], call: Callable[[str], R], before: Callable[[list[str]], None] | None = None
    ) -> dict[str, R]:
        """`before(owned)`, when given, runs once with the keys this caller owns, before any
        `call` (the cache claims them across nodes there, in one round trip)."""
        futures: dict[str, Future[R]] = {}
        owned: list[tuple[str, Future[R]]] = []
        with self._lock:
            for key in keys:
                future = self._inflight.get(key)
                if future is None:
                    future = Future()
                    self._inflight[key] = future
                    owned.append((key, future))
                futures[key] = future
        if before is not None and owned:
            try:
                before([key for key, _ in owned])
            except BaseException as error:  # no waiter may hang on a key nobody will fetch
                with self._lock:
                    for key, future in owned:
                        self._inflight.pop(key, None)
                        future.set_exception(error)
                raise
        if len(owned) == 1:
            self._settle(call, *owned[0])
        else:
            for key, future in owned:
                self._pool.submit(self._settle, call, key, future)
        return {key: future.result() for key, future in futures.items()}

    def _settle(self, call: Callable[[str], R], key: str, future: Future[R]) -> None:
        """`call` should return errors as values; if it raises, every waiter gets the error."""
        try:
            future.set_result(call(key))
        except BaseException as error:
            future.set_exception(error)
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
