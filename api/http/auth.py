"""Admin authentication: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.

A missing (or non-bearer) credential is 401 with `WWW-Authenticate`; a wrong token is 403. Both
use the API's JSON error shape. Wrong tokens are counted per client (RATE_LIMIT_AUTH_FAILURES)
and, past the limit, answered 429 instead of 403. The valid token is compared first and is never
counted or refused, so guessing from an address cannot lock its administrator out.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TypeVar

from flask import Blueprint, request

from ..vocabulary import ErrorCode
from . import context, rate_limit
from .errors import ApiError

B = TypeVar("B", bound=Blueprint)

SECURITY_SCHEME = "bearerAuth"
SECURITY: list[dict[str, list[str]]] = [{SECURITY_SCHEME: []}]
ADMIN_BLUEPRINT_ATTR = "iuc_admin"


def _digest(token: str) -> bytes:
    # Hash first: compare_digest is constant-time only for equal lengths.
    return hashlib.sha256(token.encode("utf-8")).digest()


def token_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(_digest(given), _digest(expected))


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def check_admin() -> None:
    """Raise 401/403 unless the request carries the admin token."""
    token = bearer_token()
    if token is None:
        raise ApiError(
            401,
            ErrorCode.AUTH_REQUIRED,
            "This endpoint needs the admin token: `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": 'Bearer realm="admin"'},
        )
    if not token_matches(token, context.settings().effective_admin_token):
        rate_limit.auth_failed()  # raises 429 past the limit
        raise ApiError(403, ErrorCode.INVALID_TOKEN, "The admin token is not valid.")


def _guard():
    if request.method != "OPTIONS":  # CORS preflights carry no credentials
        check_admin()


def protect(bp: B) -> B:
    """Require the admin token on every route of `bp` (checked before arguments are parsed)."""
    bp.before_request(_guard)
    setattr(bp, ADMIN_BLUEPRINT_ATTR, True)
    return bp


def is_admin_blueprint(bp: Blueprint) -> bool:
    return bool(getattr(bp, ADMIN_BLUEPRINT_ATTR, False))


def document(api) -> None:
    """Declare the bearer scheme in the OpenAPI spec (admin routes reference it)."""
    api.spec.components.security_scheme(SECURITY_SCHEME, {"type": "http", "scheme": "bearer"})
