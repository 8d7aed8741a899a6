"""Huey's consumer logs a full traceback every time it fails to reach Redis, about once a second
per worker thread: during an outage of a few seconds that is thousands of lines. This filter
keeps the first traceback and then one line per window with how many were left out.

Hand-written because neither the logging module nor Huey can throttle repeats.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

# The consumer's loggers whose errors repeat while Redis is unreachable.
CONSUMER_LOGGERS = ("huey.consumer.Worker", "huey.consumer.Scheduler")


class RepeatedErrorFilter(logging.Filter):
    """Lets one record per (logger, message) through each `window` seconds."""

    def __init__(self, window: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window = window
        self.clock = clock
        self._last: dict[tuple[str, object], float] = {}
        self._left_out: dict[tuple[str, object], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg)
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.window:
            self._left_out[key] = self._left_out.get(key, 0) + 1
            return False
        self._last[key] = now
        left_out = self._left_out.pop(key, 0)
        if left_out and last is not None:
            record.msg = f"{record.getMessage()} (and {left_out} more like it in {now - last:.0f} s)"
            record.args = None
            record.exc_info = record.exc_text = None  # the first one carried the traceback
        return True


def install(window: float = 30.0) -> None:
    for name in CONSUMER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RepeatedErrorFilter) for f in logger.filters):
            logger.addFilter(RepeatedErrorFilter(window))
