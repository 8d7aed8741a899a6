import logging

from api.logs import RedactSecrets, redact


def test_signatures_and_tokens_are_redacted():
    line = (
        "GET /objects/a.png?exp=1&sig=AbC-123_x HTTP/1.1 "
        "https://b.cos.ap-beijing.myqcloud.com/a.png?q-sign-algorithm=sha1&q-ak=AKID&q-signature=deadbeef"
        "&x-cos-security-token=tok Authorization: Bearer s3cret"
    )
    cleaned = redact(line)
    for secret in ("AbC-123_x", "deadbeef", "tok ", "s3cret", "AKID"):
        assert secret not in cleaned
    assert "exp=1" in cleaned and "q-sign-algorithm=sha1" in cleaned


def test_filter_rewrites_formatted_records(caplog):
    logger = logging.getLogger("test.redaction")
    handler = caplog.handler
    handler.addFilter(RedactSecrets())
    try:
        logger.warning("fetched %s", "/objects/a.png?exp=9&sig=topsecret")
    finally:
        handler.removeFilter(handler.filters[-1])
    assert "topsecret" not in caplog.text
    assert "sig=[redacted]" in caplog.text
