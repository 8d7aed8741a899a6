"""gunicorn settings from the same environment as the app (HOST, PORT, WEB_CONCURRENCY).

Access-log redaction of signatures is installed by `create_app` in each worker.
"""
from api.settings import Settings

_settings = Settings.from_env()

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.web_concurrency
worker_class = "gthread"
threads = 4
preload_app = False  # each worker builds its own app: its own L1, pools and connections
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
graceful_timeout = 10
timeout = 60
control_socket_disable = True  # one shared ~/.gunicorn socket would clash between nodes


def child_exit(server, worker):
    """Prometheus multiprocess mode: retire a dead worker's live gauges (its counters stay summed)."""
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Write this worker's buffered access times and counters every ACCESS_FLUSH_SECONDS.

    A worker otherwise writes them only on its next lookup, so after a burst of traffic its last
    counts and access times waited for the next request to that worker: the dashboard showed
    stale numbers and pre-refresh could take keys just viewed for cold.
    """
    import logging
    import threading
    import time

    cache = worker.wsgi.extensions["url_cache"]
    interval = max(_settings.access_flush_seconds, 0.5)

    def flush_forever() -> None:
        while True:
            time.sleep(interval)
            try:
                cache.maybe_flush()
            except Exception:  # never let the flusher die; the next lookup flushes as before
                logging.getLogger(__name__).exception("periodic cache flush failed")

    threading.Thread(target=flush_forever, name="cache-flush", daemon=True).start()
