"""Tencent COS storage: the SDK does the I/O, our own signer makes the URLs.

URLs carry a COS signature from the current credential (`cos_credentials`), or, with CDN URL
authentication on, the CDN's auth parameters on the CDN domain (`cdn_auth`). The SDK runs with retry=0 so the base class's tenacity policy is the only retry policy (the SDK's
own sleeps whole seconds between tries). `cos_endpoint` ("host:port") becomes the SDK's IP/Port:
requests go there while the Host header (and signature) still name the bucket's domain.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Unpack
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError

import requests
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosClientError, CosServiceError
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from ..clock import Clock, system_clock
from ..settings import Settings, SettingsError
from . import cos_signer
from .base import (
    AccessDenied,
    Capability,
    ListPage,
    ObjectInfo,
    ObjectNotFound,
    ObjectStream,
    RangeNotSatisfiable,
    RetryPolicy,
    SigningKey,
    Storage,
    StorageError,
    StorageUnavailable,
    UnsupportedImage,
    guess_content_type,
)
from .cdn_auth import AuthType, CdnAuth, signed_url
from .cos_credentials import (
    CosCredential,
    CredentialProvider,
    FileCredentials,
    StaticCredentials,
    cam_role,
)
from .image_meta import NOT_AN_IMAGE, ImageMeta, from_thumbnail
from .variants import Variant, cos_rule

CHUNK_SIZE = 64 * 1024
META_THUMBNAIL = "imageMogr2/auto-orient/thumbnail/32x32/format/png"  # upright, for the ThumbHash
MAX_KEYS = 1000  # COS caps one listing page here
STATUS_ERRORS = {401: AccessDenied, 403: AccessDenied, 404: ObjectNotFound, 416: RangeNotSatisfiable}
CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


def _translate(err: Exception, key: str) -> StorageError:
    """Map an SDK failure onto our vocabulary: transient ones become StorageUnavailable."""
    if isinstance(err, CosServiceError):
        status = err.get_status_code()
        if status in STATUS_ERRORS:
            return STATUS_ERRORS[status](key)
        if status >= 500 or status in (408, 429):
            return StorageUnavailable(f"{key}: COS answered {status}")
        return StorageError(f"{key}: COS answered {status}: {err}")
    # The SDK wraps requests' errors in CosClientError(str(e)); the original is its __context__.
    if isinstance(err, requests.RequestException) or isinstance(err.__context__, requests.RequestException):
        return StorageUnavailable(f"{key}: {err}")
    return StorageError(f"{key}: {err}")


def _epoch(value: str | None) -> float:
    """Seconds since the epoch from an HTTP date (HEAD/GET) or ISO 8601 (listing); 0 if neither."""
    if not value:
        return 0.0
    for parse in (parsedate_to_datetime, datetime.fromisoformat):
        try:
            return parse(value).timestamp()
        except (TypeError, ValueError):
            pass
    return 0.0


def _required(value: str | None, name: str) -> str:
    """A setting a COS store cannot work without (Settings.validate refuses its absence too)."""
    if not value:
        raise SettingsError(f"STORAGE_BACKEND=cos needs {name}")
    return value


def credentials_from_settings(settings: Settings, clock: Clock = system_clock) -> CredentialProvider:
    source = settings.cos_credentials_source
    if source == "file":
        assert settings.cos_credentials_file is not None  # Settings.validate
        return FileCredentials(settings.cos_credentials_file, clock)
    if source in ("cvm-role", "tke-oidc"):
        return cam_role(source, settings.cos_cam_role, clock)
    secret_id = _required(settings.cos_secret_id, "COS_SECRET_ID")
    return StaticCredentials(
        CosCredential(secret_id, _required(settings.cos_secret_key, "COS_SECRET_KEY"), settings.cos_token)
    )


def cdn_auth_from_settings(settings: Settings) -> CdnAuth | None:
    if settings.cdn_auth_type == "none":
        return None
    kind: AuthType = "typea" if settings.cdn_auth_type == "typea" else "typed"
    return CdnAuth(
        type=kind,
        key=_required(settings.cdn_auth_key, "CDN_AUTH_KEY"),  # the backup key never signs
        sign_param=settings.cdn_auth_sign_param,
        time_param=settings.cdn_auth_time_param,
        hex_timestamp=settings.cdn_auth_timestamp_format == "hex",
    )


class CosStorage(Storage):
    name = "cos"
    _session: requests.Session | None
    _client: tuple[CosCredential, CosS3Client] | None

    def __init__(
        self,
        *,
        credentials: CredentialProvider,
        bucket: str,
        region: str | None = None,
        domain: str | None = None,
        scheme: str = "https",
        endpoint: str | None = None,
        timeout: float = 10.0,
        cdn_auth: CdnAuth | None = None,
        **kwargs: Unpack[RetryPolicy],
    ) -> None:
        super().__init__(**kwargs)
        if cdn_auth is not None and not domain:
            raise SettingsError("CDN_AUTH_TYPE needs the CDN domain in COS_DOMAIN")
        self.bucket, self.scheme, self.credentials, self.cdn_auth = bucket, scheme, credentials, cdn_auth
        self.public_host = domain or (f"{bucket}.cos.{region}.myqcloud.com" if region else endpoint or "")
        options: dict[str, Any] = dict(Scheme=scheme, Timeout=timeout)
        if region:
            options["Region"] = region
        elif domain:
            options["Domain"] = domain  # no region: the custom domain is the only way in
        else:
            options["Endpoint"] = endpoint
        if endpoint:  # the SDK's Endpoint would be prefixed with the bucket; IP/Port is used as is
            host, sep, port = endpoint.rpartition(":")
            if not (sep and port.isdigit()):
                host, port = endpoint, ""
            options.update(IP=host, Port=int(port) if port else None)
        self._options = options
        self._pid, self._session, self._client = 0, None, None
        if cdn_auth is None:  # CDN URL authentication signs the path only, never a rule
            self.capabilities = frozenset({Capability.VARIANTS, Capability.VARIANT_BYTES, Capability.IMAGE_META})
            self.variant_formats = frozenset({"avif", "webp", "jpeg", "png"})

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = system_clock) -> CosStorage:
        return cls(
            credentials=credentials_from_settings(settings, clock),
            bucket=_required(settings.cos_bucket, "COS_BUCKET"),
            region=settings.cos_region,
            domain=settings.cos_domain,
            scheme=settings.cos_scheme,
            endpoint=settings.cos_endpoint,
            timeout=settings.cos_timeout_seconds,
            cdn_auth=cdn_auth_from_settings(settings),
            retries=settings.storage_retries,
            backoff=settings.storage_backoff_seconds,
        )

    # -- signing ------------------------------------------------------------------------
    def sign(self, key: str, start: int, expires: int) -> str:
        if self.cdn_auth is not None:  # the CDN checks start + its configured valid time
            return signed_url(self.cdn_auth, scheme=self.scheme, host=self.public_host, key=key, timestamp=start)
        return self._presigned(key, start, expires)

    def sign_variant(self, key: str, variant: Variant, start: int, expires: int) -> str:
        rule = cos_rule(variant)
        if not rule:
            return self.sign(key, start, expires)
        if self.cdn_auth is not None:
            raise NotImplementedError("variants need COS signatures, not CDN URL authentication")
        return self._presigned(key, start, expires, rule)

    def _presigned(self, key: str, start: int, expires: int, rule: str | None = None) -> str:
        """A COS presigned URL by the current credential, never outliving it; with a 数据万象
        `rule` signed into it."""
        credential = self.credentials.current()
        if credential.expires_at is not None:
            expires = min(expires, int(credential.expires_at))
        host, sid, skey, token = self.public_host, credential.secret_id, credential.secret_key, credential.token
        if rule:
            return cos_signer.presigned_rule_url(
                scheme=self.scheme, host=host, key=key, secret_id=sid, secret_key=skey,
                start=start, expires=expires, rule=rule, token=token,
            )  # fmt: skip
        return cos_signer.presigned_url(
            scheme=self.scheme, host=host, key=key, secret_id=sid, secret_key=skey,
            start=start, expires=expires, token=token,
        )  # fmt: skip

    @property
    def url_origin(self) -> str:
        return f"{self.scheme}://{self.public_host}"

    def signing_key(self) -> SigningKey | None:
        """None with CDN auth: the CDN's key signs, and the CDN pulls with its own bucket access,
        so the COS credential does not bound URLs."""
        if self.cdn_auth is not None:
            return None
        credential = self.credentials.current()
        return SigningKey(credential.secret_id, credential.expires_at)

    def owns_url(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme == self.scheme and parts.netloc.lower() == self.public_host.lower()

    # -- I/O ----------------------------------------------------------------------------
    @property
    def client(self) -> CosS3Client:
        """One pooled session per process (a forked worker must not share its parent's sockets)
        and one SDK client per credential, built from one consistent snapshot of it."""
        if self._pid != os.getpid():
            session = requests.Session()
            adapter = HTTPAdapter(pool_maxsize=32)  # the SDK's shared pool keeps only 10 sockets
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._pid, self._session, self._client = os.getpid(), session, None
        credential, current = self.credentials.current(), self._client
        if current is None or current[0] != credential:
            config = CosConfig(
                SecretId=credential.secret_id, SecretKey=credential.secret_key, Token=credential.token, **self._options
            )
            current = self._client = (credential, CosS3Client(config, retry=0, session=self._session))
        return current[1]

    def _call(self, key: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return method(Bucket=self.bucket, **kwargs)
        except (CosServiceError, CosClientError, requests.RequestException) as err:
            raise _translate(err, key) from None
        except (ParseError, OSError) as err:  # a garbled answer, e.g. from a proxy in between
            raise StorageError(f"{key}: unreadable COS answer: {err}") from None

    def _info(self, key: str, headers: Mapping[str, str], size: int | None = None) -> ObjectInfo:
        guessed = guess_content_type(key)
        stored = headers.get("Content-Type")
        return ObjectInfo(
            key=key,
            size=int(headers.get("Content-Length", 0)) if size is None else size,
            etag=headers.get("ETag", ""),
            content_type=stored if stored and guessed == "application/octet-stream" else guessed,
            last_modified=_epoch(headers.get("Last-Modified")),
        )

    def _head(self, key: str) -> ObjectInfo:
        return self._info(key, CaseInsensitiveDict(self._call(key, self.client.head_object, Key=key)))

    def _open(self, key: str, byte_range: tuple[int, int | None] | None) -> ObjectStream:
        extra = {}
        if byte_range is not None:
            extra["Range"] = f"bytes={byte_range[0]}-{'' if byte_range[1] is None else byte_range[1]}"
        response = self._call(key, self.client.get_object, Key=key, **extra)
        body = response.pop("Body")
        headers = CaseInsensitiveDict(response)
        length = int(headers.get("Content-Length", 0))
        served = CONTENT_RANGE.fullmatch(headers.get("Content-Range", "").strip())
        # A 200 holds the whole object, even if a range was asked.
        first, last, size = (int(n) for n in served.groups()) if served else (0, length - 1, length)
        raw = body.get_raw_stream()

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.get_stream(CHUNK_SIZE)
            except requests.RequestException as err:
                raise StorageUnavailable(f"{key}: stream broke: {err}") from None

        def close() -> None:
            raw.close()
            raw.release_conn()

        return ObjectStream(
            info=self._info(key, headers, size=size),
            chunks=chunks(),
            length=length,
            byte_range=(first, last) if byte_range is not None else None,
            close=close,
        )

    # -- 数据万象 (Cloud Infinite): a GET of the object with a processing rule, signed in ---------
    def image_meta(self, info: ObjectInfo) -> ImageMeta | None:
        """Size from `imageInfo`, ThumbHash from a tiny upright PNG the store renders: two small
        reads per object version, never the original's bytes."""
        if not info.content_type.startswith("image/"):
            return NOT_AN_IMAGE
        try:
            stored = json.loads(self._processed(info.key, "imageInfo")[1])
            width, height = int(stored["width"]), int(stored["height"])
            thumbnail = self._processed(info.key, META_THUMBNAIL)[1]
        except UnsupportedImage:
            return NOT_AN_IMAGE
        except (ValueError, KeyError, TypeError) as error:
            raise StorageError(f"{info.key}: unreadable imageInfo: {error}") from None
        return from_thumbnail(thumbnail, width, height)

    def open_variant(self, key: str, variant: Variant, byte_range: tuple[int, int | None] | None) -> ObjectStream:
        """A variant's bytes, rendered by the store (whole: a range of a variant is not asked)."""
        headers, data = self._processed(key, cos_rule(variant))
        etag = headers.get("ETag", "").strip('"')
        info = ObjectInfo(
            key=key,
            size=len(data),
            etag=f'"{etag}-{variant.tag()}"',  # the variant's own version, not the original's
            content_type=headers.get("Content-Type") or guess_content_type(key),
            last_modified=_epoch(headers.get("Last-Modified")),
        )
        return ObjectStream(info=info, chunks=iter([data]), length=len(data), byte_range=None, close=lambda: None)

    def _processed(self, key: str, rule: str) -> tuple[CaseInsensitiveDict[str], bytes]:
        try:
            headers, data = self.client.ci_get_image_info(Bucket=self.bucket, Key=key, Param=rule)
        except CosServiceError as err:
            if err.get_status_code() in (400, 415):  # not an image the store can process
                raise UnsupportedImage(key) from None
            raise _translate(err, key) from None
        except (CosClientError, requests.RequestException) as err:
            raise _translate(err, key) from None
        return CaseInsensitiveDict(headers), data

    def _list(self, prefix: str, cursor: str | None, limit: int) -> ListPage:
        data = self._call(
            prefix, self.client.list_objects, Prefix=prefix, Marker=cursor or "", MaxKeys=min(limit, MAX_KEYS)
        )
        items = [
            ObjectInfo(
                key=entry["Key"],
                size=int(entry.get("Size") or 0),
                etag=entry.get("ETag") or "",
                content_type=guess_content_type(entry["Key"]),
                last_modified=_epoch(entry.get("LastModified")),
            )
            for entry in data.get("Contents") or []
        ]
        truncated = str(data.get("IsTruncated", "false")).lower() == "true"
        next_cursor = (items[-1].key if items else data.get("NextMarker")) if truncated else None
        return ListPage(items=items, next_cursor=next_cursor or None)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        self._pid, self._session, self._client = 0, None, None
