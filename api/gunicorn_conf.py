"""gunicorn settings from the same environment as the app (PORT, HOST, WEB_CONCURRENCY)."""
from api.logs import install_redaction
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


def post_worker_init(worker):
    """Signatures in request lines must not reach the access log (invariant 8)."""
    install_redaction("gunicorn.error", "gunicorn.access")
