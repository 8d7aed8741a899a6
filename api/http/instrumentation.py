"""Request timing and counts per route, into the Prometheus metrics of api.metrics."""

from __future__ import annotations

import time

from flask import Flask, g, request

from .. import metrics


def init_app(app: Flask) -> None:
    """Time every request and mirror the URL cache's counters into Prometheus."""
    metrics.mirror_cache_events(app.extensions["url_cache"].stats)

    @app.before_request
    def _start_timer():
        g._iuc_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("_iuc_started", None)
        if started is not None:
            # The rule, not the path: one series per route however many keys are asked for.
            endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
            metrics.LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - started)
            metrics.REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        return response
