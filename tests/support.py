"""Test support: the real local adapter, instrumented to count calls and fail on demand."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter

from api.storage.local import LocalStorage


class CountingStorage(LocalStorage):
    """LocalStorage that counts what reaches the store; `fail_with` queues errors to raise."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: Counter[str] = Counter()
        self.fail_with: list[Exception] = []
        self.delay = 0.0
        self._lock = threading.Lock()

    def _hit(self, op: str) -> None:
        with self._lock:
            self.calls[op] += 1
            error = self.fail_with.pop(0) if self.fail_with else None
        if self.delay:
            time.sleep(self.delay)
        if error is not None:
            raise error

    def _head(self, key):
        self._hit("head")
        return super()._head(key)

    def _open(self, key, byte_range):
        self._hit("open")
        return super()._open(key, byte_range)

    def _list(self, prefix, cursor, limit):
        self._hit("list")
        return super()._list(prefix, cursor, limit)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def fetch(url: str) -> tuple[int, bytes]:
    """GET `url` as a browser would (following redirects): (status, body), errors included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
