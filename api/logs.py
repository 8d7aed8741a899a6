"""Logging setup; signatures and tokens never reach a log line (invariant 8)."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

SECRET_NAMES = frozenset({"q-signature", "sig", "x-cos-security-token", "q-ak"})
# Every `name=value` pair, also with `=` percent-encoded once or twice (a URL inside a parameter).
# Names are percent-decoded before they are compared (`%73ig` is `sig`), so the encoding of a
# request line cannot hide a signature from the filter.
PAIR = re.compile(
    r"(?<![\w%.~+\-])(?P<name>[\w%.~+\-]+)(?P<eq>=|%3[dD]|%253[dD])(?P<value>(?:(?!%26|%2526)[^&\s\"'])+)"
)
SEPARATORS = re.compile(r"[?&;/=\s]")
BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)
MAX_DECODES = 3  # `%2573` is `%73` is `s`: decode a few times, never loop on crafted input


def _decoded_name(raw: str) -> str:
    name = raw
    for _ in range(MAX_DECODES):
        decoded = unquote(name)
        if decoded == name:
            break
        name = decoded
    return SEPARATORS.split(name)[-1].lower()  # `%3Fsig` (an encoded `?sig`) names `sig`


def _redact_pairs(text: str, depth: int = 0) -> str:
    def one(match: re.Match[str]) -> str:
        name, eq, value = match["name"], match["eq"], match["value"]
        if _decoded_name(name) in SECRET_NAMES:
            return f"{name}{eq}[redacted]"
        if depth < MAX_DECODES:  # a value may be an encoded URL with pairs of its own
            value = _redact_pairs(value, depth + 1)
        return f"{name}{eq}{value}"

    return PAIR.sub(one, text)


def redact(text: str) -> str:
    return BEARER.sub(r"\1[redacted]", _redact_pairs(text))


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
