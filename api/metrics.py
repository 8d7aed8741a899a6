"""Prometheus metrics: request latency per endpoint, cache events, finished jobs.

With PROMETHEUS_MULTIPROC_DIR set (the launcher sets it to DATA_DIR/metrics and empties it on
start), prometheus-client writes every process's values to files there, so `/metrics` served by
any gunicorn worker sums all workers and the job consumers. Unset, one process's own registry
is served. The variable is read when prometheus_client is first imported: it must be in the
environment before the process starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .cache.stats import CacheStats

__all__ = ["CACHE_EVENTS", "CONTENT_TYPE_LATEST", "LATENCY", "REQUESTS", "TASKS", "mirror_cache_events", "render"]

REQUESTS = Counter("iuc_http_requests", "HTTP requests served", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "iuc_http_request_duration_seconds",
    "Time to produce a response (streamed bodies: until the first byte)",
    ["endpoint", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CACHE_EVENTS = Counter(
    "iuc_cache_events", "URL cache events: l1_hits, l2_misses, signs, storage_calls, refresh_failed, ...", ["event"]
)
TASKS = Counter("iuc_tasks", "Jobs finished, by task and outcome", ["task", "outcome"])


def multiproc_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


_CACHE_EVENT_CHILDREN: dict[str, Counter] = {}


def _count_cache_event(name: str, n: int) -> None:
    if not n:
        return
    child = _CACHE_EVENT_CHILDREN.get(name)
    if child is None:  # `labels()` locks and builds a tuple: once per event name, not per request
        child = _CACHE_EVENT_CHILDREN[name] = CACHE_EVENTS.labels(name)
    child.inc(n)


def mirror_cache_events(stats: CacheStats) -> None:
    """Count the URL cache's events in Prometheus too (once per stats object)."""
    path = multiproc_dir()
    if path:
        os.makedirs(path, exist_ok=True)
    if _count_cache_event not in stats.listeners:
        stats.listeners.append(_count_cache_event)


class _Snapshot:
    """Gauges read at scrape time (queue, workers): one value, not a per-process sum."""

    def __init__(self, gauges: Mapping[str, tuple[str, float]]) -> None:
        self.gauges = gauges

    def collect(self):
        for name, (documentation, value) in self.gauges.items():
            family = GaugeMetricFamily(name, documentation)
            family.add_metric([], value)
            yield family


def render(gauges: Mapping[str, tuple[str, float]] | None = None) -> bytes:
    """The exposition text: all processes' counters (multiprocess) or this one's, plus gauges."""
    path = multiproc_dir()
    if path:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if gauges:
        extra = CollectorRegistry(auto_describe=False)
        extra.register(_Snapshot(gauges))
        body += generate_latest(extra)
    return body
