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
    """Buffered access times and counters reach Redis even when traffic stops (see UrlCache)."""
    worker.wsgi.extensions["url_cache"].start_flusher()
    services = worker.wsgi.extensions["services"]
    if services.settings.queue_configured:  # listed in the admin console with the job workers
        from jobs.heartbeat import NodeHeartbeat

        NodeHeartbeat(services.settings.worker_heartbeat_seconds, services.clock).start()


def worker_exit(server, worker):
    """A worker's last buffered counts are written before it goes."""
    app = getattr(worker, "wsgi", None)  # absent when the worker failed to boot
    cache = getattr(app, "extensions", {}).get("url_cache")
    if cache is not None:
        cache.flush()
