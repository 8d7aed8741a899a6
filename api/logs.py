"""Logging setup; signatures and tokens never reach a log line (invariant 8)."""

from __future__ import annotations

import logging
import re

SECRET_PARAMS = re.compile(r"((?:q-signature|sig|x-cos-security-token|q-ak)=)[^&\s\"']+", re.IGNORECASE)
BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)


def redact(text: str) -> str:
    return BEARER.sub(r"\1[redacted]", SECRET_PARAMS.sub(r"\1[redacted]", text))


class RedactSecrets(logging.Filter):
    """Rewrites the formatted message so query-string signatures are masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_redaction(*logger_names: str) -> None:
    """Attach the filter to every handler of the given loggers (root when none)."""
    names = logger_names or ("",)
    for name in names:
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())


def configure(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The COS SDK logs request headers (Authorization) at DEBUG and every 404 at WARNING.
    logging.getLogger("qcloud_cos").setLevel(max(logging.ERROR, logging.getLogger().level))
    install_redaction("", "gunicorn.error", "gunicorn.access", "werkzeug")
