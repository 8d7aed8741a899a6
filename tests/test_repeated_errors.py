"""The consumer's repeated Redis errors: one traceback, then one line per window with a count."""

from __future__ import annotations

import logging

from api.clock import ManualClock
from jobs.repeated_errors import RepeatedErrorFilter


def test_repeats_within_the_window_are_left_out_and_counted(caplog):
    clock = ManualClock(1000.0)
    logger = logging.getLogger("test.huey.consumer.Worker")
    logger.addFilter(RepeatedErrorFilter(window=30, clock=clock))
    with caplog.at_level(logging.ERROR, logger=logger.name):
        for _ in range(90):  # a 90-second outage, one failure a second
            try:
                raise ConnectionError("Connection refused")
            except ConnectionError:
                logger.exception("Error reading from queue")
            clock.advance(1)
        logger.error("something else")
    lines = [(r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert lines == [
        ("Error reading from queue", True),
        ("Error reading from queue (and 29 more like it in 30 s)", False),
        ("Error reading from queue (and 29 more like it in 30 s)", False),
        ("something else", False),
    ]
