"""A local COS-compatible HTTP server for tests: in-memory bucket, real signature checks, faults.

The real SDK talks to it over a socket, so the adapter is tested end to end without mocks. It
verifies every request (the SDK's `Authorization` header and presigned query strings) with its
own implementation of Tencent's documented algorithm, deliberately not `api.storage.cos_signer`,
so a bug shared by signer and verifier cannot hide.

    from tests.cos_server import cos_server, cos_storage_for

    def test_x(cos_server):
        cos_server.put("a.png", b"...")
        cos_server.inject("a.png", status=503, times=2)
        storage = cos_storage_for(cos_server)
        storage.head("a.png")
        assert cos_server.count("HEAD", "a.png") == 3
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import mimetypes
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.sax.saxutils import escape

import pytest

from .cos_processing import ProcessingError, is_rule
from .cos_processing import apply as apply_rule

SECRET_ID = "AKIDcosTestServer0000000000000000000"
SECRET_KEY = "cosTestServerSecretKey0000000000"
BUCKET = "images-1250000000"
REGION = "ap-test"

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_AUTH_FIELDS = (
    "q-sign-algorithm",
    "q-ak",
    "q-sign-time",
    "q-key-time",
    "q-header-list",
    "q-url-param-list",
    "q-signature",
)


# Cloud Infinite's processing parameters, lowercased and UrlEncoded as they are signed.
PROCESSING = re.compile(r"(imagemogr2|imageview2|imageave|imageinfo|watermark)(%2f|$)")


def tencent_urlencode(text: str) -> str:
    """UrlEncode as Tencent documents it for signing: every UTF-8 byte outside A-Za-z0-9-_.~ as %XX."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def _hex_hmac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha1).hexdigest()


def expected_signature(
    secret_key: str,
    sign_time: str,
    key_time: str,
    method: str,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
) -> str:
    """Tencent's algorithm: SignKey = HMAC(SecretKey, KeyTime); Signature = HMAC(SignKey, StringToSign).

    `params`/`headers` are already UrlEncoded with lowercase names, exactly the signed ones.
    """

    def joined(pairs: dict[str, str]) -> str:
        return "&".join(f"{name}={pairs[name]}" for name in sorted(pairs))

    http_string = f"{method.lower()}\n{path}\n{joined(params)}\n{joined(headers)}\n"
    string_to_sign = f"sha1\n{sign_time}\n{hashlib.sha1(http_string.encode('utf-8')).hexdigest()}\n"
    sign_key = _hex_hmac(secret_key.encode("utf-8"), key_time)
    return _hex_hmac(sign_key.encode("utf-8"), string_to_sign)


@dataclass
class StoredObject:
    data: bytes
    content_type: str
    last_modified: float
    etag: str = ""

    def __post_init__(self) -> None:
        self.etag = self.etag or f'"{hashlib.md5(self.data).hexdigest()}"'


@dataclass
class Fault:
    key: str | None  # None: any request
    method: str | None
    status: int | None
    delay: float
    drop: bool
    times: int
    truncate: bool = False


@dataclass(frozen=True)
class SeenRequest:
    method: str
    key: str | None  # None for bucket requests (listing)
    query: dict[str, str]
    headers: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class TemporaryKey:
    """A temporary key this server issued, as STS would: valid with its token until `expires`."""

    secret_key: str
    token: str
    expires: float


class CosError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class CosTestServer:
    """One bucket on 127.0.0.1:<free port>. Thread-safe; `reset()` between tests."""

    def __init__(
        self, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY, bucket: str = BUCKET, region: str = REGION
    ) -> None:
        self.secret_id, self.secret_key, self.bucket, self.region = secret_id, secret_key, bucket, region
        self.lock = threading.RLock()
        self.objects: dict[str, StoredObject] = {}
        self.faults: list[Fault] = []
        self.requests: list[SeenRequest] = []
        self.token: str | None = None  # when set, every request must carry this STS token
        self.temporary: dict[str, TemporaryKey] = {}  # tmpSecretId -> the key issued under it
        self.clock: Callable[[], float] = time.time
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.cos = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="cos-test-server", daemon=True)
        self._thread.start()

    # -- test API -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def bucket_host(self) -> str:
        return f"{self.bucket}.cos.{self.region}.myqcloud.com"

    def put(
        self, key: str, data: bytes, content_type: str | None = None, last_modified: float | None = None
    ) -> StoredObject:
        content_type = content_type or mimetypes.guess_type(key)[0] or "application/octet-stream"
        stored = StoredObject(data, content_type, int(last_modified if last_modified is not None else time.time()))
        with self.lock:
            self.objects[key] = stored
        return stored

    def inject(
        self,
        key: str | None = None,
        *,
        status: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        truncate: bool = False,
        times: int = 1,
        method: str | None = None,
    ) -> None:
        """Queue a fault for the next `times` requests on `key` (None: any): answer `status`,
        answer late by `delay` seconds, `drop` the connection without answering, or `truncate`
        the body (full Content-Length, half the bytes, then hang up)."""
        with self.lock:
            self.faults.append(Fault(key, method and method.upper(), status, delay, drop, times, truncate))

    def count(self, method: str | None = None, key: Any = ...) -> int:
        """Requests seen, optionally only those with this method and/or key (None: bucket)."""
        with self.lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method.upper()) and (key is ... or r.key == key)
            )

    def issue_temporary(self, duration: float) -> dict[str, Any]:
        """A temporary key valid for `duration` seconds of `self.clock`, as the COS STS SDK's
        `get_credential()` returns it (`credentials.tmpSecretId/tmpSecretKey/sessionToken`,
        `expiredTime`). Requests signed with it need its token and fail once it expires."""
        start = int(self.clock())
        secret_id, secret_key, token = f"AKIDtmp{uuid.uuid4().hex}", uuid.uuid4().hex, f"tok/{uuid.uuid4().hex}+="
        with self.lock:
            self.temporary[secret_id] = TemporaryKey(secret_key, token, start + duration)
        return {
            "credentials": {"tmpSecretId": secret_id, "tmpSecretKey": secret_key, "sessionToken": token},
            "expiredTime": int(start + duration),
            "startTime": start,
        }

    def reset(self) -> None:
        with self.lock:
            self.temporary.clear()
            self.objects.clear()
            self.faults.clear()
            self.requests.clear()
            self.token = None
            self.clock = time.time

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- server side --------------------------------------------------------------------
    def _take_fault(self, method: str, key: str | None) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if (fault.key is None or fault.key == key) and fault.method in (None, method):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def check_auth(self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str]) -> None:
        """Raise CosError(403) unless the request is signed by our key, live, and carries the token."""
        q = dict(query)
        if "q-signature" in q:
            auth = {name: q.get(name) for name in _AUTH_FIELDS}
        elif headers.get("authorization"):
            auth = dict(part.split("=", 1) for part in headers["authorization"].split("&") if "=" in part)
        else:
            raise CosError(403, "AccessDenied", "Access Denied: anonymous request to a private bucket.")
        if any(auth.get(name) is None for name in _AUTH_FIELDS) or auth["q-sign-algorithm"] != "sha1":
            raise CosError(403, "AccessDenied", "Authorization is malformed.")
        secret_key, temporary = self.secret_key, self.temporary.get(auth["q-ak"] or "")
        if temporary is not None:
            secret_key = temporary.secret_key
        elif auth["q-ak"] != self.secret_id:
            raise CosError(403, "InvalidAccessKeyId", "The access key Id format you provided is invalid.")

        # Only the parameters and headers the client lists are signed; each must be present.
        params = {tencent_urlencode(k).lower(): tencent_urlencode(v) for k, v in query}
        received = dict(headers)
        if "host" in received:  # a port is not signed (the SDK signs urlparse(url).hostname)
            received["host"] = urlsplit("//" + received["host"]).hostname or ""
        received = {tencent_urlencode(k).lower(): tencent_urlencode(v) for k, v in received.items()}
        try:
            signed_params = {n: params[n] for n in auth["q-url-param-list"].split(";") if n}
            signed_headers = {n: received[n] for n in auth["q-header-list"].split(";") if n}
        except KeyError as missing:
            raise CosError(403, "SignatureDoesNotMatch", f"Signed field {missing} is not in the request.") from None
        # A 数据万象 rule (`imageMogr2/...`, a parameter without a value) must be signed: else
        # anyone could strip it from a variant URL, or add one, to get other bytes.
        unsigned_rules = [n for n in params if PROCESSING.match(n) and n not in signed_params]
        if unsigned_rules:
            raise CosError(403, "AccessDenied", f"Processing rule {unsigned_rules[0]} is not signed.")
        expected = expected_signature(
            secret_key, auth["q-sign-time"], auth["q-key-time"], method, path, signed_params, signed_headers
        )
        if not hmac.compare_digest(expected, auth["q-signature"]):
            raise CosError(403, "SignatureDoesNotMatch", "The calculated signature does not match.")

        now = self.clock()
        for name in ("q-sign-time", "q-key-time"):
            start, _, end = auth[name].partition(";")
            if not (start.isdigit() and end.isdigit()):
                raise CosError(403, "AccessDenied", f"{name} is malformed.")
            if not int(start) <= now <= int(end):
                raise CosError(403, "AccessDenied", "Request has expired")
        sent = headers.get("x-cos-security-token") or q.get("x-cos-security-token")
        expected_token = temporary.token if temporary is not None else self.token
        if expected_token is not None and (sent is None or not hmac.compare_digest(sent, expected_token)):
            raise CosError(403, "InvalidAccessKeyId", "The security token is missing or invalid.")
        if temporary is not None and now >= temporary.expires:
            raise CosError(403, "ExpiredToken", "The temporary key has expired.")

    def list_xml(self, query: dict[str, str]) -> bytes:
        prefix, marker, delimiter = query.get("prefix", ""), query.get("marker", ""), query.get("delimiter", "")
        try:
            max_keys = max(0, min(int(query.get("max-keys") or 1000), 1000))
        except ValueError:
            raise CosError(400, "InvalidArgument", "max-keys is not a number") from None
        encode = (
            (lambda s: quote(s.encode("utf-8"), safe="/")) if query.get("encoding-type") == "url" else (lambda s: s)
        )
        with self.lock:
            keys = sorted(k for k in self.objects if k.startswith(prefix) and k > marker)
            snapshot = {k: self.objects[k] for k in keys}
        entries: list[tuple[str, StoredObject | None]] = []  # (key, object) or (common prefix, None)
        truncated = False
        for key in keys:
            rest = key[len(prefix) :]
            if delimiter and delimiter in rest:
                common = prefix + rest.split(delimiter, 1)[0] + delimiter
                if entries and entries[-1] == (common, None):
                    continue
                entry = (common, None)
            else:
                entry = (key, snapshot[key])
            if len(entries) == max_keys:
                truncated = True
                break
            entries.append(entry)
        parts = [
            "<?xml version='1.0' encoding='utf-8' ?>\n<ListBucketResult>",
            f"<Name>{escape(self.bucket)}</Name>",
            "<EncodingType>url</EncodingType>" if query.get("encoding-type") == "url" else "",
            f"<Prefix>{escape(encode(prefix))}</Prefix><Marker>{escape(encode(marker))}</Marker>",
            f"<MaxKeys>{max_keys}</MaxKeys><Delimiter>{escape(encode(delimiter))}</Delimiter>",
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>",
        ]
        if truncated:
            parts.append(f"<NextMarker>{escape(encode(entries[-1][0]))}</NextMarker>")
        for name, obj in entries:
            if obj is None:
                parts.append(f"<CommonPrefixes><Prefix>{escape(encode(name))}</Prefix></CommonPrefixes>")
                continue
            modified = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(obj.last_modified))
            parts.append(
                f"<Contents><Key>{escape(encode(name))}</Key><LastModified>{modified}</LastModified>"
                f"<ETag>{escape(obj.etag)}</ETag><Size>{len(obj.data)}</Size>"
                f"<Owner><ID>1250000000</ID><DisplayName>1250000000</DisplayName></Owner>"
                f"<StorageClass>STANDARD</StorageClass></Contents>"
            )
        parts.append("</ListBucketResult>")
        return "".join(parts).encode("utf-8")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops bursts of concurrent HEADs
    cos: CosTestServer

    def handle_error(self, request, client_address) -> None:
        pass  # clients that time out or hang up are part of the tests


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tencent-cos"
    server: _HTTPServer
    fault: Fault | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_PUT = do_GET

    def _dispatch(self) -> None:
        cos = self.server.cos
        split = urlsplit(self.path)
        path = unquote(split.path)  # the signed path is the decoded one
        key = path[1:] or None
        query = parse_qsl(split.query, keep_blank_values=True)
        headers = {name.lower(): value for name, value in self.headers.items()}
        body = self.rfile.read(int(headers.get("content-length") or 0))
        with cos.lock:
            cos.requests.append(SeenRequest(self.command, key, dict(query), headers))
        fault = self.fault = cos._take_fault(self.command, key)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            if fault and fault.status:
                raise CosError(
                    fault.status, "ServiceUnavailable" if fault.status >= 500 else "InjectedFault", "injected"
                )
            cos.check_auth(self.command, path, query, headers)
            if key is None and self.command == "GET":
                self._send(200, cos.list_xml(dict(query)), {"Content-Type": "application/xml"})
            elif key is None:
                raise CosError(405, "MethodNotAllowed", "Only listing is supported on the bucket.")
            elif self.command == "PUT":
                stored = cos.put(key, body, headers.get("content-type"))
                self._send(200, b"", {"ETag": stored.etag})
            elif rules := [name for name, _ in query if is_rule(name)]:
                self._processed(key, rules[0])
            else:
                self._object(key, headers.get("range"))
        except CosError as err:
            self._error(err, path)

    def _processed(self, key: str, rule: str) -> None:
        with self.server.cos.lock:
            obj = self.server.cos.objects.get(key)
        if obj is None:
            raise CosError(404, "NoSuchKey", "The specified key does not exist.")
        try:
            data, content_type = apply_rule(rule, obj.data)
        except ProcessingError as error:
            raise CosError(400, "InvalidArgument", error.message) from None
        self._send(200, data, {"Content-Type": content_type, "ETag": obj.etag})

    def _object(self, key: str, range_header: str | None) -> None:
        with self.server.cos.lock:
            obj = self.server.cos.objects.get(key)
        if obj is None:
            raise CosError(404, "NoSuchKey", "The specified key does not exist.")
        size, status, first, last = len(obj.data), 200, 0, len(obj.data) - 1
        extra = {}
        matched = _RANGE.fullmatch((range_header or "").strip())
        if matched and (matched[1] or matched[2]):
            if matched[1]:
                first = int(matched[1])
                last = min(int(matched[2]), size - 1) if matched[2] else size - 1
                satisfiable = first < size and (not matched[2] or int(matched[2]) >= first)
            else:  # suffix range: the last N bytes
                first, satisfiable = max(0, size - int(matched[2])), int(matched[2]) > 0 and size > 0
            if not satisfiable:
                raise CosError(416, "InvalidRange", "The requested range is not satisfiable")
            status, extra["Content-Range"] = 206, f"bytes {first}-{last}/{size}"
        data = obj.data[first : last + 1]
        self._send(
            status,
            data,
            {
                "Content-Type": obj.content_type,
                "ETag": obj.etag,
                "Last-Modified": formatdate(obj.last_modified, usegmt=True),
                "Accept-Ranges": "bytes",
                **extra,
            },
        )

    def _error(self, err: CosError, resource: str) -> None:
        request_id = uuid.uuid4().hex
        body = (
            "<?xml version='1.0' encoding='utf-8' ?>\n<Error>"
            f"<Code>{escape(err.code)}</Code><Message>{escape(err.message)}</Message>"
            f"<Resource>{escape(self.server.cos.bucket_host + resource)}</Resource>"
            f"<RequestId>{request_id}</RequestId><TraceId>{request_id}</TraceId></Error>"
        ).encode()
        headers = {"Content-Type": "application/xml"}
        if err.status == 416:
            with self.server.cos.lock:
                obj = self.server.cos.objects.get(resource[1:])
            headers["Content-Range"] = f"bytes */{len(obj.data) if obj else 0}"
        self._send(err.status, body, headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {"x-cos-request-id": uuid.uuid4().hex, **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and self.fault and self.fault.truncate:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif self.command != "HEAD":
            self.wfile.write(body)


# -- pytest wiring ------------------------------------------------------------------------
_shared: CosTestServer | None = None
_shared_lock = threading.Lock()


def shared_cos_server() -> CosTestServer:
    """One server per test process, started on first use (a plain function, not a fixture, so
    importing `cos_server` alone is enough)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = CosTestServer()
            atexit.register(_shared.close)
        return _shared


@pytest.fixture
def cos_server() -> CosTestServer:
    """The shared COS test server, emptied of objects, faults, requests and token for each test."""
    server = shared_cos_server()
    server.reset()
    yield server
    server.reset()


def cos_settings_for(server: CosTestServer, **overrides: Any):
    """Settings for the `cos` backend pointed at `server`: fast timeouts and backoff.

    SDK traffic goes to `server.endpoint`; signed URLs use it as `cos_domain` so urllib can fetch them.
    """
    from api.settings import Settings

    values = dict(
        storage_backend="cos",
        cos_secret_id=server.secret_id,
        cos_secret_key=server.secret_key,
        cos_bucket=server.bucket,
        cos_region=server.region,
        cos_scheme="http",
        cos_endpoint=server.endpoint,
        cos_domain=server.endpoint,
        cos_timeout_seconds=1.0,
        storage_retries=3,
        storage_backoff_seconds=0.001,
    )
    values.update(overrides)
    return Settings.from_env({}, **values)


def cos_storage_for(server: CosTestServer, **overrides: Any):
    """A real `CosStorage` (via `from_settings`) talking to `server`; `overrides` are Settings fields."""
    from api.storage.cos import CosStorage

    return CosStorage.from_settings(cos_settings_for(server, **overrides))
