"""Typed, validated configuration read once from environment variables.

Every variable is documented in the README table. A wrong value stops start-up with a
`SettingsError` that names the variable, instead of failing later on a request.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .settings_cos import cos_problem


class SettingsError(ValueError):
    """A configuration variable is missing, malformed or conflicts with another."""


def _number(cast: type, minimum: float) -> Callable[[str, str], Any]:
    def parse(name: str, raw: str):
        try:
            value = cast(raw)
        except ValueError:
            kind = "an integer" if cast is int else "a number"
            raise SettingsError(f"{name} must be {kind}, got {raw!r}") from None
        if value < minimum:
            raise SettingsError(f"{name} must be >= {minimum}, got {value}")
        return value

    return parse


def _int(minimum: int = 0) -> Callable[[str, str], int]:
    return _number(int, minimum)


def _float(minimum: float = 0.0) -> Callable[[str, str], float]:
    return _number(float, minimum)


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
        return value

    return parse


def _csv(name: str, raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _str(name: str, raw: str) -> str:
    return raw.strip()


def _optional_str(name: str, raw: str) -> str | None:
    return raw.strip() or None


def _path(name: str, raw: str) -> Path:
    if not raw.strip():
        raise SettingsError(f"{name} must not be empty")
    return Path(raw.strip())


def _optional_path(name: str, raw: str) -> Path | None:
    return Path(raw.strip()) if raw.strip() else None


def _ratio(name: str, raw: str) -> float:
    value = _float(0.0)(name, raw)
    if value > 1:
        raise SettingsError(f"{name} must be between 0 and 1, got {value}")
    return value


_SIZE_UNITS = {"": 1, "b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def _size(name: str, raw: str) -> int:
    """Bytes, with an optional unit as Redis writes them: `0`, `512kb`, `256mb`, `2gb`."""
    text = raw.strip().lower()
    number = text.rstrip("kmgb")
    unit = text[len(number) :]
    if not number.isdigit() or unit not in _SIZE_UNITS:
        raise SettingsError(f"{name} must be a size such as 256mb, got {raw!r}")
    return int(number) * _SIZE_UNITS[unit]


def _widths(name: str, raw: str) -> tuple[int, ...]:
    """A ladder of pixel widths, e.g. `64,128,256`: positive integers, sorted, no duplicates."""
    parts = _csv(name, raw)
    if not parts or not all(p.isascii() and p.isdigit() and 0 < int(p) <= 16384 for p in parts):
        raise SettingsError(f"{name} must be comma-separated widths between 1 and 16384, got {raw!r}")
    return tuple(sorted({int(p) for p in parts}))


def _rate_limits(name: str, raw: str) -> str:
    """flask-limiter notation, e.g. `300 per second; 6000 per minute`; checked at start."""
    from limits import parse_many

    try:
        if not parse_many(raw):
            raise ValueError("no limit given")
    except ValueError as error:
        raise SettingsError(f"{name} must be rate limits like '100 per minute', got {raw!r}: {error}") from None
    return raw.strip()


def _pattern(regex: str, what: str) -> Callable[[str, str], str | None]:
    """An optional string that must match `regex` entirely (Tencent's console rules)."""

    def parse(name: str, raw: str) -> str | None:
        value = raw.strip()
        if value and not re.fullmatch(regex, value):
            raise SettingsError(f"{name} must be {what}, got {len(value)} characters that are not")
        return value or None

    return parse


_CDN_KEY = _pattern(r"[A-Za-z0-9]{6,40}", "6-40 letters and digits")
_CDN_PARAM = _pattern(r"[A-Za-z0-9_]{1,100}", "1-100 letters, digits or underscores")


def _env(parser: Callable[[str, str], Any], default: Any = None, doc: str = "") -> Any:
    """Declare a setting: the parser, its default and the README description."""
    return field(default=default, metadata={"parse": parser, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """All configuration. Field `foo_bar` is read from env var `FOO_BAR`."""

    host: str = _env(_str, "127.0.0.1", "Interface the API binds to.")
    port: int = _env(_int(1), 8080, "HTTP port of the API (and of `make run`).")
    web_concurrency: int = _env(_int(1), 2, "gunicorn worker processes.")
    data_dir: Path = _env(_path, Path(".data"), "Runtime state: embedded Redis, demo images, secrets.")
    redis_url: str | None = _env(
        _optional_str, None, "Redis for cache and jobs. Unset: the launcher starts an embedded one."
    )
    embedded_redis_maxmemory: int = _env(
        _size, 256 * 1024**2, "Memory cap of the embedded Redis (`0`: none); cache entries are evicted first."
    )
    huey_redis_db: int = _env(_int(0), 1, "Redis db used by the job queue (the cache uses the URL's db).")
    redis_sentinels: tuple[str, ...] = _env(
        _csv, (), "Sentinel addresses (`host:port,...`): cache, counters, limits and jobs follow the primary."
    )
    redis_sentinel_master: str | None = _env(_optional_str, None, "Name of the Sentinel-monitored primary.")
    redis_password: str | None = _env(_optional_str, None, "Password of the Sentinel primary or cluster nodes.")
    redis_sentinel_password: str | None = _env(_optional_str, None, "Password of the sentinels themselves.")
    redis_db: int = _env(_int(0), 0, "Cache db on the Sentinel primary (the queue uses `HUEY_REDIS_DB`).")
    redis_cluster_nodes: tuple[str, ...] = _env(
        _csv, (), "Redis Cluster seed nodes (`host:port,...`) for cache, counters and limits."
    )
    huey_redis_url: str | None = _env(
        _optional_str, None, "Redis of the job queue, apart from the cache's (needed with a cluster)."
    )
    storage_backend: str = _env(_choice("local", "cos"), "local", "`local` (folder) or `cos`.")
    local_storage_dir: Path | None = _env(
        _optional_path, None, "Folder served by the local backend (default `DATA_DIR/images`)."
    )
    local_signing_secret: str | None = _env(
        _optional_str, None, "HMAC key for local signed URLs (default: generated in `DATA_DIR`)."
    )
    public_base_url: str | None = _env(
        _optional_str, None, "Absolute origin put in front of local signed URLs (default: relative)."
    )
    cos_secret_id: str | None = _env(_optional_str, None, "COS SecretId.")
    cos_secret_key: str | None = _env(_optional_str, None, "COS SecretKey.")
    cos_token: str | None = _env(_optional_str, None, "STS session token, sent as `x-cos-security-token`.")
    cos_region: str | None = _env(_optional_str, None, "COS region, e.g. `ap-beijing`.")
    cos_bucket: str | None = _env(_optional_str, None, "Bucket name with APPID, e.g. `images-1250000000`.")
    cos_domain: str | None = _env(_optional_str, None, "Custom or CDN host for signed URLs (may carry a port).")
    cos_scheme: str = _env(_choice("https", "http"), "https", "Scheme of signed URLs and SDK calls.")
    cos_endpoint: str | None = _env(
        _optional_str, None, "`host:port` the SDK talks to instead of the regional endpoint."
    )
    cos_timeout_seconds: float = _env(_float(0.1), 10.0, "Timeout of one COS SDK call.")
    cos_credentials_source: str = _env(
        _choice("static", "file", "cvm-role", "tke-oidc"),
        "static",
        "Where COS keys come from: `static` (COS_SECRET_ID/KEY/TOKEN), `file` (STS JSON in COS_CREDENTIALS_FILE), "
        "`cvm-role` or `tke-oidc` (a CAM role).",
    )
    cos_credentials_file: Path | None = _env(
        _optional_path,
        None,
        "STS JSON (`tmpSecretId`, `tmpSecretKey`, `sessionToken`, `expiredTime`), re-read on change.",
    )
    cos_cam_role: str | None = _env(
        _optional_str, None, "CAM role name for `cvm-role` (default: the one bound to the CVM)."
    )
    cdn_auth_type: str = _env(
        _choice("none", "typea", "typed"), "none", "Tencent CDN URL authentication of COS_DOMAIN: `TypeA` or `TypeD`."
    )
    cdn_auth_key: str | None = _env(_CDN_KEY, None, "CDN authentication primary key (signs every URL).")
    cdn_auth_backup_key: str | None = _env(
        _CDN_KEY, None, "CDN backup key, as in the console: checked at start, never signs."
    )
    cdn_auth_sign_param: str = _env(_CDN_PARAM, "sign", "CDN signature parameter name (TypeA and TypeD).")
    cdn_auth_time_param: str = _env(_CDN_PARAM, "t", "CDN timestamp parameter name (TypeD).")
    cdn_auth_timestamp_format: str = _env(_choice("dec", "hex"), "dec", "TypeD timestamp format: `dec` or `hex`.")
    cdn_auth_valid_seconds: int | None = _env(
        _int(1), None, "The CDN console's valid time; at least URL_WINDOW_SECONDS + URL_MIN_REMAINING_SECONDS."
    )
    url_window_seconds: int = _env(_int(10), 3600, "Signing window: URLs roll over once per window.")
    url_min_remaining_seconds: int = _env(_int(10), 3600, "Every URL handed out stays valid at least this long.")
    cache_ttl_seconds: int = _env(
        _int(10), 86400, "How long object metadata is trusted before revalidation (hot keys are revalidated ahead)."
    )
    negative_ttl_seconds: int = _env(_int(1), 60, "How long a missing object (404) is remembered.")
    l1_max_entries: int = _env(_int(1), 10000, "In-process cache bound (entries).")
    l1_ttl_seconds: int = _env(_int(1), 60, "In-process cache lifetime of an entry.")
    access_flush_seconds: float = _env(_float(0.0), 5.0, "Interval of batched access-time and counter writes.")
    prerefresh_lead_seconds: int = _env(_int(0), 900, "Pre-refresh revalidates entries this long before they lapse.")
    hot_horizon_seconds: int = _env(_int(1), 3600, "A key accessed within this horizon is hot.")
    max_batch_keys: int = _env(_int(1), 500, "Largest batch accepted by `POST /api/v1/urls`.")
    max_content_length: int = _env(
        _int(1024),
        2 * 1024 * 1024,
        "Largest request body accepted, in bytes; a larger one gets 413 before it is read.",
    )
    variant_widths: tuple[int, ...] = _env(
        _widths,
        (64, 128, 256, 320, 480, 640, 768, 960, 1280, 1600, 1920, 2560),
        "Width ladder of variants (`?w=` snaps up to the next step).",
    )
    variant_cache_max_bytes: int = _env(
        _size, 1024**3, "Local store: bytes of rendered variants kept in DATA_DIR/variants (LRU beyond)."
    )
    variant_render_workers: int = _env(_int(1), 2, "Local store: variants rendered at once per process.")
    variant_max_pixels: int = _env(
        _int(1), 50_000_000, "Local store: sources with more pixels get 422 instead of a variant."
    )
    first_page_width: int = _env(
        _int(1), 480, "Variant width of the gallery's first page embedded in index.html (`?width=` of the listing)."
    )
    first_page_limit: int = _env(
        _int(0), 60, "Images of the first page embedded in index.html (0: none; the app fetches it)."
    )
    allowed_key_prefixes: tuple[str, ...] = _env(_csv, (), "Comma-separated key prefixes allowed (empty: all).")
    cors_origins: tuple[str, ...] = _env(_csv, (), "Comma-separated origins allowed by CORS (`*` for any).")
    cors_admin: bool = _env(
        _bool,
        False,
        "Also answer CORS on admin endpoints (tasks, cache, monitoring, `/metrics`), allowing `Authorization`.",
    )
    storage_retries: int = _env(_int(0), 3, "Retries of a transient storage error (timeouts, 5xx).")
    storage_backoff_seconds: float = _env(_float(0.0), 0.05, "First retry delay in requests; doubles, with jitter.")
    redis_timeout_seconds: float = _env(_float(0.01), 0.5, "Socket timeout of cache Redis calls.")
    redis_retry_seconds: float = _env(_float(0.0), 2.0, "After a Redis failure, skip Redis this long (degraded).")
    single_flight_wait_seconds: float = _env(
        _float(0.0), 1.0, "How long a miss waits for another node's storage call of the same key, then asks itself."
    )
    admin_token: str | None = _env(
        _optional_str, None, "Bearer token of admin endpoints (default: generated in `DATA_DIR`)."
    )
    log_level: str = _env(_choice("debug", "info", "warning", "error"), "info", "Log level.")
    # -- jobs (Huey), monitoring and admin security --------------------------------------
    huey_result_ttl_seconds: int = _env(_int(60), 86400, "How long job results are kept in Redis.")
    huey_read_timeout_seconds: float = _env(
        _float(0.01), 1.0, "Blocking dequeue timeout of a worker; also bounds a consumer's shutdown."
    )
    job_storage_retries: int = _env(_int(0), 3, "Retries of a transient storage error inside jobs.")
    job_storage_backoff_seconds: float = _env(
        _float(0.0), 0.5, "First retry delay inside jobs; doubles per retry (0.5, 1, 2 s), with jitter."
    )
    batch_max_keys: int = _env(_int(1), 10000, "Largest batch accepted by `POST /api/v1/tasks/batch-refresh`.")
    batch_chunk_size: int = _env(_int(1), 100, "Keys revalidated concurrently per progress step of a batch job.")
    task_stale_seconds: float = _env(
        _float(0.1), 60.0, "A running task with no progress this long and no live worker is `lost` (re-enqueued)."
    )
    task_history_seconds: int = _env(_int(60), 7 * 86400, "How long task status and history are kept.")
    task_history_max: int = _env(_int(10), 1000, "Most admin-started tasks kept in the history.")
    worker_heartbeat_seconds: float = _env(
        _float(0.05), 10.0, "Worker heartbeat interval; a worker missing 3 beats counts as dead."
    )
    metrics_public: bool = _env(_bool, False, "Serve `/metrics` without the admin token.")
    rate_limit_enabled: bool = _env(_bool, True, "Rate-limit public endpoints per client address.")
    trusted_proxy_hops: int = _env(
        _int(0),
        0,
        "Reverse proxies in front that append to `X-Forwarded-*` (0: those headers are ignored).",
    )
    rate_limit_public: str = _env(
        _rate_limits, "6000 per minute", "Limits per client of the JSON API (resolve, listing), shared in Redis."
    )
    rate_limit_delivery_burst: int = _env(
        _int(1),
        1000,
        "Requests to `/i/`, `/p/` and `/objects/` a client may make at once, per worker process (token bucket).",
    )
    rate_limit_delivery_rate: float = _env(
        _float(0.001), 50.0, "Per second: how fast a client's delivery bucket refills once its burst is spent."
    )
    rate_limit_auth_failures: str = _env(
        _rate_limits,
        "30 per minute",
        "Wrong admin tokens allowed per client address (then 429); the valid token is never limited.",
    )
    rate_limit_storage_misses: str = _env(
        _rate_limits,
        "1000 per minute; 10000 per hour",
        "Storage calls per client that lookups of uncached keys may cause (then 429); hits cost none. "
        "Keep each limit at least MAX_BATCH_KEYS.",
    )
    alert_queue_depth: int = _env(_int(0), 100, "Alert when more jobs than this wait in the queue.")
    alert_task_failure_rate: float = _env(_ratio, 0.05, "Alert when this share of jobs fails (0..1).")
    alert_hit_rate: float = _env(_ratio, 0.8, "Alert when the overall cache hit rate drops below this (0..1).")
    alert_window_minutes: int = _env(_int(1), 15, "Rates behind alerts are measured over this many recent minutes.")
    alert_min_samples: int = _env(_int(1), 20, "Fewest lookups (or jobs) in the window before a rate can alert.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every field from `environ` (default `os.environ`); `overrides` win."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f.name.upper()
            if f.name in overrides:
                values[f.name] = overrides[f.name]
            elif name in environ:
                values[f.name] = f.metadata["parse"](name, environ[name])
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Cross-field checks; raises SettingsError naming the variables."""
        problem = cos_problem(self) or redis_problem(self)
        if problem:
            raise SettingsError(problem)
        if self.storage_backend == "cos":
            keys = ("cos_secret_id", "cos_secret_key") if self.cos_credentials_source == "static" else ()
            missing = [name for name in (*keys, "cos_bucket") if not getattr(self, name)]
            if not self.cos_region and not self.cos_domain and not self.cos_endpoint:
                missing.append("cos_region")
            if missing:
                names = ", ".join(n.upper() for n in missing)
                raise SettingsError(f"STORAGE_BACKEND=cos needs {names}")
        for prefix in self.allowed_key_prefixes:
            if prefix.startswith("/"):
                raise SettingsError(f"ALLOWED_KEY_PREFIXES entries must not start with '/': {prefix!r}")
        if self.public_base_url and not self.public_base_url.startswith(("http://", "https://")):
            raise SettingsError(f"PUBLIC_BASE_URL must start with http:// or https://, got {self.public_base_url!r}")

    @property
    def variants_dir(self) -> Path:
        return self.data_dir / "variants"

    @property
    def redis_configured(self) -> bool:
        """A Redis deployment is named (URL, Sentinel or cluster): the launcher starts none."""
        return bool(self.redis_url or self.redis_sentinels or self.redis_cluster_nodes)

    @property
    def queue_configured(self) -> bool:
        return bool(self.huey_redis_url or self.redis_sentinels or self.redis_url)

    @property
    def images_dir(self) -> Path:
        return self.local_storage_dir or self.data_dir / "images"

    def secret(self, name: str) -> str:
        """A secret kept in DATA_DIR, created on first use so every process shares it."""
        path = self.data_dir / f"{name}.secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(secrets.token_urlsafe(32))
            tmp.chmod(0o600)
            try:
                os.link(tmp, path)  # atomic create-if-absent: the first process wins
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()

    @property
    def signing_secret(self) -> str:
        return self.local_signing_secret or self.secret("local-signing")

    @property
    def effective_admin_token(self) -> str:
        return self.admin_token or self.secret("admin-token")


def redis_problem(s: Settings) -> str | None:
    """Contradictory or incomplete Redis topology settings, named; None when they agree."""
    chosen = [
        name
        for name, on in (
            ("REDIS_URL", s.redis_url),
            ("REDIS_SENTINELS", s.redis_sentinels),
            ("REDIS_CLUSTER_NODES", s.redis_cluster_nodes),
        )
        if on
    ]
    if "REDIS_URL" in chosen and len(chosen) > 1:
        return f"set one of REDIS_URL or {chosen[1]}, not both: they name different Redis deployments"
    if bool(s.redis_sentinels) != bool(s.redis_sentinel_master):
        return "REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together: set both or neither"
    if s.redis_cluster_nodes and not (s.huey_redis_url or s.redis_sentinels):
        return (
            "REDIS_CLUSTER_NODES needs HUEY_REDIS_URL (or REDIS_SENTINELS) for the job queue: "
            "Huey needs one keyspace, which a cluster does not have"
        )
    if s.redis_cluster_nodes and s.redis_db:
        return "REDIS_DB cannot be used with REDIS_CLUSTER_NODES: a cluster has only db 0"
    if s.redis_url and (s.redis_db or s.redis_password or s.redis_sentinel_password):
        return "REDIS_DB, REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD do not apply to REDIS_URL: put them in the URL"
    for name, nodes in (("REDIS_SENTINELS", s.redis_sentinels), ("REDIS_CLUSTER_NODES", s.redis_cluster_nodes)):
        for node in nodes:
            host, _, port = node.rpartition(":")
            if not host or not port.isdigit():
                return f"{name} entries must be host:port, got {node!r}"
    return None


def documented_settings() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) rows for the README table."""
    rows = []
    for f in fields(Settings):
        default = "" if f.default is None else f.default
        if isinstance(default, tuple):
            default = ",".join(map(str, default))
        rows.append((f.name.upper(), str(default), f.metadata["doc"]))
    return rows
