"""Tencent COS request signing (XML API, `q-sign-algorithm=sha1`), as pure functions.

cos-python-sdk-v5 always signs from `time.time()`, so its URLs change every second; stable URLs
(DESIGN invariant 2) need a caller-chosen KeyTime `start;expires`, hence this small signer. It
reproduces Tencent's published example and, for the same KeyTime, the exact bytes of the SDK's
`CosS3Client.get_presigned_url(Bucket, Key, 'GET')`. No I/O and no SDK import.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import quote, urlencode, urlsplit

TOKEN_PARAM = "x-cos-security-token"


def _encode(text: str) -> str:
    """Tencent's UrlEncode: every byte but A-Z a-z 0-9 - _ . ~ as %XX (space is %20, not +)."""
    return quote(text.encode("utf-8"), safe="-_.~")


def _hmac_sha1(key: str, message: str) -> str:
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha1).hexdigest()


def key_time(start: int, expires: int) -> str:
    return f"{int(start)};{int(expires)}"


def _canonical(pairs: Mapping[str, str]) -> tuple[str, str]:
    """(`k=v&k=v` for the HttpString, `k;k` for the q-*-list), keys encoded, lowercased, sorted."""
    encoded = sorted((_encode(k).lower(), _encode(str(v))) for k, v in pairs.items())
    return "&".join(f"{k}={v}" for k, v in encoded), ";".join(k for k, _ in encoded)


def object_path(key: str) -> str:
    """The path that is signed: the raw (not percent-encoded) key after one `/`, like the SDK."""
    return key if key.startswith("/") else "/" + key


def url_path(key: str) -> str:
    """The key as the SDK puts it in a URL; `./` is escaped so no client collapses dot segments."""
    key = key[1:] if key.startswith("/") else key
    return quote(key.encode("utf-8"), safe="/-_.~").replace("./", ".%2F")


def signature(
    secret_key: str,
    key_time: str,
    method: str,
    path: str,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """`q-signature` of one request: HMAC-SHA1 chain over KeyTime and the canonical request."""
    http_params, _ = _canonical(params or {})
    http_headers, _ = _canonical(headers or {})
    http_string = f"{method.lower()}\n{path}\n{http_params}\n{http_headers}\n"
    string_to_sign = f"sha1\n{key_time}\n{hashlib.sha1(http_string.encode('utf-8')).hexdigest()}\n"
    return _hmac_sha1(_hmac_sha1(secret_key, key_time), string_to_sign)


def authorization(
    secret_id: str,
    secret_key: str,
    start: int,
    expires: int,
    method: str,
    path: str,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """The q-* fields in the SDK's order, for an `Authorization` header or a query string."""
    times = key_time(start, expires)
    return [
        ("q-sign-algorithm", "sha1"),
        ("q-ak", secret_id),
        ("q-sign-time", times),
        ("q-key-time", times),
        ("q-header-list", _canonical(headers or {})[1]),
        ("q-url-param-list", _canonical(params or {})[1]),
        ("q-signature", signature(secret_key, times, method, path, params, headers)),
    ]


@lru_cache(maxsize=64)
def _url_template(host: str, secret_id: str, token: str | None) -> tuple[str, str, str, str, str]:
    """The parts of a presigned URL that depend only on the store, computed once per store.

    Returns (canonical params, canonical headers, query head, query tail, token suffix); only
    the key, the KeyTime and the signature change from one URL to the next (the hot path).
    """
    params = {TOKEN_PARAM: token} if token else {}
    hostname = urlsplit(f"//{host}").hostname or ""
    http_params, param_list = _canonical(params)
    http_headers, header_list = _canonical({"host": hostname})
    head = urlencode([("q-sign-algorithm", "sha1"), ("q-ak", secret_id)]) + "&q-sign-time="
    tail = "&" + urlencode([("q-header-list", header_list), ("q-url-param-list", param_list)]) + "&q-signature="
    suffix = "&" + urlencode(params) if params else ""
    return http_params, http_headers, head, tail, suffix


def presigned_url(
    *,
    scheme: str,
    host: str,
    key: str,
    secret_id: str,
    secret_key: str,
    start: int,
    expires: int,
    token: str | None = None,
) -> str:
    """A GET URL valid from `start` to `expires`; with an STS `token` it carries (and signs)
    `x-cos-security-token`, as the SDK does when that is passed in `Params`.

    `host` may carry a port: like the SDK, only the lowercased hostname is signed. Byte for byte
    the query `urlencode(authorization(...))` gives, assembled from a per-store template.
    """
    http_params, http_headers, head, tail, suffix = _url_template(host, secret_id, token)
    times = key_time(start, expires)
    http_string = f"get\n{object_path(key)}\n{http_params}\n{http_headers}\n"
    string_to_sign = f"sha1\n{times}\n{hashlib.sha1(http_string.encode('utf-8')).hexdigest()}\n"
    signed = _hmac_sha1(_hmac_sha1(secret_key, times), string_to_sign)
    quoted = times.replace(";", "%3B")
    return f"{scheme}://{host}/{url_path(key)}?{head}{quoted}&q-key-time={quoted}{tail}{signed}{suffix}"


def presigned_rule_url(
    *,
    scheme: str,
    host: str,
    key: str,
    secret_id: str,
    secret_key: str,
    start: int,
    expires: int,
    rule: str,
    token: str | None = None,
) -> str:
    """A GET URL for a processed image: the 数据万象 `rule` (`imageMogr2/...`, a parameter with
    no value) is signed, listed in `q-url-param-list`, so it cannot be stripped or changed, as
    in Tencent's signed-processing examples. The rule goes last, unencoded, as they show it."""
    params = {rule: ""}
    if token:
        params[TOKEN_PARAM] = token
    hostname = urlsplit(f"//{host}").hostname or ""
    fields = authorization(secret_id, secret_key, start, expires, "get", object_path(key), params, {"host": hostname})
    query = urlencode(fields) + (f"&{urlencode({TOKEN_PARAM: token})}" if token else "")
    return f"{scheme}://{host}/{url_path(key)}?{query}&{rule}"
