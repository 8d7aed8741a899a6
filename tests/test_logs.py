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


def test_percent_encoded_parameter_names_are_redacted():
    line = (
        "GET /objects/a.png?exp=1&%73ig=S1 HTTP/1.1 "
        "/x?q%2Dsignature=S2&%71%2dsignature=S3&%2573ig=S4&X-COS-Security%2DToken=S5&q%2Dak=S6&design=keep "
        "next=https%3A%2F%2Fb.example%2Fa.png%3Fq-signature%3DS7%26exp%3D9 "
        "next2=https%253A%252F%252Fb%252Fa%253F%2573ig%253DS8%2526x%253D1"
    )
    cleaned = redact(line)
    for n in range(1, 9):
        assert f"S{n}" not in cleaned, (n, cleaned)
    assert "exp=1" in cleaned and "design=keep" in cleaned and "%26exp%3D9" in cleaned
    assert "%73ig=[redacted]" in cleaned and "q%2Dsignature=[redacted]" in cleaned
