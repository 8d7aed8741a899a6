"""Where the COS signing key comes from: static settings, an STS file, or a CAM role.

Temporary keys (STS, a CAM role on CVM or TKE) expire after 30 min to 36 h, and COS rejects a
URL whose key has expired even if its own signature time is still running. So a provider hands
out one consistent snapshot (id, key, token, expiry) at a time: the signer caps each URL at the
snapshot's expiry, and the SDK client is rebuilt from each new snapshot.

cos-python-sdk-v5's `CosConfig(CredentialInstance=...)` is not used: it reads `secret_id` and
`secret_key` from the instance per request but never its `token` (the `x-cos-security-token`
header comes from the static `Token` only), so temporary keys would go out without their token.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..clock import Clock, system_clock
from .base import StorageUnavailable

log = logging.getLogger(__name__)
FILE_CHECK_SECONDS = 5.0  # how often the credentials file is stat()ed for a new version


@dataclass(frozen=True)
class CosCredential:
    secret_id: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    expires_at: float | None = None  # epoch seconds; None: a permanent key


class CredentialsUnavailable(StorageUnavailable):
    message = "storage credentials are unavailable"


class CredentialProvider(ABC):
    @abstractmethod
    def current(self) -> CosCredential:
        """The credential to use now; raises CredentialsUnavailable when there is no live one."""


class StaticCredentials(CredentialProvider):
    """COS_SECRET_ID / COS_SECRET_KEY (/ COS_TOKEN): never changes while the process runs."""

    def __init__(self, credential: CosCredential) -> None:
        self._credential = credential

    def current(self) -> CosCredential:
        return self._credential


def _pick(data: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in data:
            return data[name]
    raise ValueError(f"missing {names[0]}")


def parse_sts(data: Mapping[str, Any]) -> CosCredential:
    """A credential from STS JSON: the COS STS SDK's output (`credentials.tmpSecretId`,
    `tmpSecretKey`, `sessionToken`, top-level `expiredTime`), the same fields flat, or the STS API
    response (`Response.Credentials.TmpSecretId`, `TmpSecretKey`, `Token`, `ExpiredTime`)."""
    data = data.get("Response", data)
    creds = data.get("credentials") or data.get("Credentials") or data
    secret_id = _pick(creds, "tmpSecretId", "TmpSecretId")
    secret_key = _pick(creds, "tmpSecretKey", "TmpSecretKey")
    token = _pick(creds, "sessionToken", "Token")
    expires = next((d[n] for d in (data, creds) for n in ("expiredTime", "ExpiredTime") if n in d), None)
    if expires is None:
        raise ValueError("missing expiredTime")
    if not all(isinstance(v, str) and v for v in (secret_id, secret_key, token)):
        raise ValueError("tmpSecretId, tmpSecretKey and sessionToken must be non-empty strings")
    return CosCredential(secret_id, secret_key, token, float(int(expires)))


class FileCredentials(CredentialProvider):
    """STS keys from a JSON file that another process rewrites before they expire.

    The file is stat()ed at most every FILE_CHECK_SECONDS and re-read when it changed; write it
    atomically (temp file + rename). A half-written or invalid file keeps the previous key.
    """

    def __init__(self, path: Path, clock: Clock = system_clock) -> None:
        self.path, self.clock = path, clock
        self._lock = threading.Lock()
        self._credential: CosCredential | None = None
        self._version: tuple[int, int, int] | None = None
        self._next_check = float("-inf")

    def current(self) -> CosCredential:
        now = self.clock()
        with self._lock:
            if now >= self._next_check:
                self._next_check = now + FILE_CHECK_SECONDS
                self._reload()
            credential = self._credential
        if credential is None:
            raise CredentialsUnavailable(f"no valid credentials in {self.path}")
        if credential.expires_at is not None and credential.expires_at <= now:
            raise CredentialsUnavailable(f"the credentials in {self.path} expired at {credential.expires_at:.0f}")
        return credential

    def _reload(self) -> None:
        try:
            stat = os.stat(self.path)
            version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if version == self._version:
                return
            credential = parse_sts(json.loads(self.path.read_text()))
        except (OSError, ValueError, TypeError, AttributeError) as error:
            log.warning("COS credentials file %s unreadable, keeping the previous key: %s", self.path, error)
            return
        self._credential, self._version = credential, version
        log.info(
            "COS credentials loaded from %s: %s until %.0f", self.path, credential.secret_id, credential.expires_at
        )


class SdkCredential(Protocol):
    """tencentcloud-sdk-python-common's CVMRoleCredential / OIDCRoleArnCredential."""

    def get_credential_info(self) -> tuple[str | None, str | None, str | None]: ...


def _sdk_expiry(credential: object) -> float:
    """The SDK keeps the expiry only in a private attribute (CVM: `_expired_ts`, the metadata's
    ExpiredTime; OIDC: `_expired_time`, already 10% of the duration early)."""
    for name in ("_expired_ts", "_expired_time"):
        value = getattr(credential, name, None)
        if isinstance(value, int | float):
            return float(value)
    raise CredentialsUnavailable(f"{type(credential).__name__} exposes no expiry")


class CamRoleCredentials(CredentialProvider):
    """A CAM role's temporary keys through tencentcloud-sdk-python-common, which fetches them
    (CVM metadata service, or TKE's OIDC provider) and refreshes them 5 min before expiry.
    `get_credential_info()` reads the three parts under one lock, so they always match."""

    def __init__(self, credential: SdkCredential, clock: Clock = system_clock) -> None:
        self._sdk, self.clock = credential, clock

    def current(self) -> CosCredential:
        secret_id, secret_key, token = self._sdk.get_credential_info()
        if not (secret_id and secret_key and token):
            raise CredentialsUnavailable("the CAM role gave no credentials (is a role bound to this machine?)")
        credential = CosCredential(secret_id, secret_key, token, _sdk_expiry(self._sdk))
        assert credential.expires_at is not None
        if credential.expires_at <= self.clock():
            raise CredentialsUnavailable(f"the CAM role's credentials expired at {credential.expires_at:.0f}")
        return credential


def cam_role(source: str, role_name: str | None, clock: Clock = system_clock) -> CamRoleCredentials:
    """`cvm-role` (the instance's bound role, or `role_name`) or `tke-oidc` (TKE_* variables)."""
    from tencentcloud.common import credential

    if source == "tke-oidc":
        return CamRoleCredentials(credential.DefaultTkeOIDCRoleArnProvider().get_credentials(), clock)
    return CamRoleCredentials(credential.CVMRoleCredential(role_name), clock)
