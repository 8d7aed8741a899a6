"""Cross-field checks of the COS credential and CDN authentication settings.

Kept apart from `api.settings` (which calls them) so that module stays one concept: reading
and typing variables. Each check returns the message of the first problem, naming the variables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import Settings

CDN_MAX_VALID_SECONDS = 630_720_000  # the longest valid time Tencent's CDN console accepts


def cos_problem(s: Settings) -> str | None:
    return _credentials_problem(s) or _cdn_auth_problem(s)


def _credentials_problem(s: Settings) -> str | None:
    source = s.cos_credentials_source
    if (source == "file") != bool(s.cos_credentials_file):
        return "COS_CREDENTIALS_FILE is used exactly when COS_CREDENTIALS_SOURCE=file"
    if s.cos_cam_role and source != "cvm-role":
        return "COS_CAM_ROLE needs COS_CREDENTIALS_SOURCE=cvm-role"
    static = [n.upper() for n in ("cos_secret_id", "cos_secret_key", "cos_token") if getattr(s, n)]
    if source != "static" and static:
        return f"COS_CREDENTIALS_SOURCE={source} contradicts {', '.join(static)}: unset them"
    return None


def _cdn_auth_problem(s: Settings) -> str | None:
    if s.cdn_auth_type == "none":
        extra = [n.upper() for n in ("cdn_auth_key", "cdn_auth_backup_key", "cdn_auth_valid_seconds") if getattr(s, n)]
        return f"{', '.join(extra)} set but CDN_AUTH_TYPE=none" if extra else None
    if not s.cdn_auth_key:
        return f"CDN_AUTH_TYPE={s.cdn_auth_type} needs CDN_AUTH_KEY"
    if s.storage_backend != "cos" or not s.cos_domain:
        return "CDN_AUTH_TYPE needs STORAGE_BACKEND=cos and the CDN domain in COS_DOMAIN"
    if s.cdn_auth_backup_key == s.cdn_auth_key:
        return "CDN_AUTH_BACKUP_KEY must differ from CDN_AUTH_KEY"
    if s.cdn_auth_type == "typed" and s.cdn_auth_time_param == s.cdn_auth_sign_param:
        return "CDN_AUTH_TIME_PARAM must differ from CDN_AUTH_SIGN_PARAM"
    needed = s.url_window_seconds + s.url_min_remaining_seconds
    valid = s.cdn_auth_valid_seconds
    if valid is not None and not needed <= valid <= CDN_MAX_VALID_SECONDS:
        return (
            f"CDN_AUTH_VALID_SECONDS (the console's valid time) must be between URL_WINDOW_SECONDS + "
            f"URL_MIN_REMAINING_SECONDS ({needed}) and {CDN_MAX_VALID_SECONDS}, got {valid}"
        )
    return None
