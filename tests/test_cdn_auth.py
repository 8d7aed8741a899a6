"""Tencent CDN URL authentication (TypeA, TypeD) on a CDN domain in front of the private bucket.

Every formula is recomputed here from Tencent's documentation with hashlib, independently of
`api.storage.cdn_auth`, from the URLs the storage hands out:
- TypeA (CDN docs 228/35222): `sign=timestamp-rand-uid-md5hash`, md5("/path-timestamp-rand-uid-key").
- TypeD (CDN docs 228/35225): `sign=md5hash&t=timestamp`, md5(key + "/path" + timestamp), the
  timestamp decimal or hexadecimal.
The CDN docs' own sample URLs (`1582791032-im1acp76sx9sdqe601v-0-dd63f95e...`,
`sign=0f8201d8...&t=1582791032`) do not give their key, so they cannot be reproduced; Tencent
EdgeOne's docs for the same TypeA/TypeD algorithms (1145/62475, 1145/62478) do, and are checked.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from urllib.parse import parse_qsl, urlsplit

import pytest

from api.cache.url_cache import UrlCache
from api.clock import ManualClock
from api.settings import Settings, SettingsError
from api.storage.cdn_auth import typea_value, typed_hash
from api.storage.cos import CosStorage
from api.windows import window_for

from .cos_server import cos_settings_for

CDN = "img-cdn.example.com"
KEY = "Cdn0Primary0Key0123"
BACKUP = "Cdn0Backup0Key0456"
T0 = 1_800_000_000


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def cdn_settings(cos_server, **overrides) -> Settings:
    # http: the SDK talks to the test server with the same scheme the URLs carry.
    values = dict(cos_domain=CDN, cdn_auth_type="typea", cdn_auth_key=KEY)
    values.update(overrides)
    return cos_settings_for(cos_server, **values)


def cdn_storage(cos_server, **overrides) -> CosStorage:
    return CosStorage.from_settings(cdn_settings(cos_server, **overrides))


def parts(url: str) -> tuple[str, str, dict[str, str]]:
    split = urlsplit(url)
    return split.netloc, split.path, dict(parse_qsl(split.query, keep_blank_values=True))


# -- formulas ------------------------------------------------------------------------------
def test_tencent_published_samples_with_their_keys():
    # EdgeOne docs, authentication method A: /foo.jpg, 1721028437, rand Kv4cPTAAP5YTi, key below.
    assert typea_value("/foo.jpg", 1721028437, "Kv4cPTAAP5YTi", "DvYmqE81E1F9R791H6lmht") == (
        "1721028437-Kv4cPTAAP5YTi-0-0fbdca749d7ab784750685347e42075c"
    )
    # EdgeOne docs, authentication method D: MD5(DvYmqE81E1F9R791H6lmht/foo.jpg1721029907).
    assert typed_hash("DvYmqE81E1F9R791H6lmht", "/foo.jpg", "1721029907") == "cadcec4a04e67b9c2abf4b61c642a0dd"


@pytest.mark.parametrize("key", ["gallery/a.png", "空 间/图片 (1).png", "odd +&=?#%;,'!*@$.png"])
def test_typea_url_follows_the_documented_formula(cos_server, key):
    storage = cdn_storage(cos_server)
    url = storage.sign(key, T0, T0 + 7200)
    host, path, query = parts(url)
    assert url.startswith(f"http://{CDN}/") and host == CDN and set(query) == {"sign"}
    assert all(ord(c) < 128 for c in url)  # Tencent: no raw Chinese characters in the URL
    timestamp, rand, uid, digest = query["sign"].split("-")
    assert timestamp == str(T0) and uid == "0"
    assert re.fullmatch(r"[A-Za-z0-9]{0,100}", rand)
    assert digest == md5(f"{path}-{timestamp}-{rand}-{uid}-{KEY}")  # path as sent, starting with /
    assert "q-signature" not in url and cos_server.secret_id not in url


@pytest.mark.parametrize("fmt", ["dec", "hex"])
def test_typed_url_follows_the_documented_formula(cos_server, fmt):
    storage = cdn_storage(
        cos_server, cdn_auth_type="TypeD", cdn_auth_timestamp_format=fmt, cdn_auth_sign_param="auth_key"
    )
    host, path, query = parts(storage.sign("空 间/图片 (1).png", T0, T0 + 7200))
    assert host == CDN and set(query) == {"auth_key", "t"}
    assert query["t"] == (format(T0, "x") if fmt == "hex" else str(T0))
    assert int(query["t"], 16 if fmt == "hex" else 10) == T0
    assert query["auth_key"] == md5(KEY + path + query["t"])


def test_custom_parameter_names(cos_server):
    storage = cdn_storage(cos_server, cdn_auth_type="typed", cdn_auth_sign_param="s_1", cdn_auth_time_param="ts")
    assert set(parts(storage.sign("a.png", T0, T0 + 1))[2]) == {"s_1", "ts"}


# -- stability ---------------------------------------------------------------------------
def test_stable_within_a_window_and_new_in_the_next(cos_server):
    settings = cdn_settings(cos_server)
    clock = ManualClock(T0)
    cache = UrlCache(CosStorage.from_settings(settings), None, settings, clock=clock)
    cos_server.put("gallery/a.png", b"png")
    window = window_for("gallery/a.png", T0, settings.url_window_seconds, settings.url_min_remaining_seconds)
    first = cache.resolve("gallery/a.png")
    assert parts(first.url)[2]["sign"].startswith(f"{window.start}-")
    assert (first.expires_at, first.refresh_at) == (window.expires, window.end)
    clock.now = window.end - 1
    assert cache.resolve("gallery/a.png").url == first.url
    clock.now = window.end
    later = cache.resolve("gallery/a.png")
    assert later.url != first.url and parts(later.url)[2]["sign"].startswith(f"{window.end}-")
    cache.close()


def test_a_new_process_signs_the_same_url(cos_server):
    here = {
        "typea": cdn_storage(cos_server).sign("空 间/a.png", T0, T0 + 7200),
        "typed": cdn_storage(cos_server, cdn_auth_type="typed", cdn_auth_timestamp_format="hex").sign(
            "空 间/a.png", T0, T0 + 7200
        ),
    }
    script = f"""
import json
from api.settings import Settings
from api.storage.cos import CosStorage
out = {{}}
for kind, fmt in (("typea", "dec"), ("typed", "hex")):
    s = Settings.from_env({{"STORAGE_BACKEND": "cos", "COS_SECRET_ID": "id", "COS_SECRET_KEY": "k",
        "COS_BUCKET": "b-1", "COS_REGION": "ap-x", "COS_DOMAIN": {CDN!r}, "COS_SCHEME": "http", "CDN_AUTH_TYPE": kind,
        "CDN_AUTH_KEY": {KEY!r}, "CDN_AUTH_TIMESTAMP_FORMAT": fmt}})
    out[kind] = CosStorage.from_settings(s).sign("空 间/a.png", {T0}, {T0 + 7200})
print(json.dumps(out))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(run.stdout) == here


# -- keys ----------------------------------------------------------------------------------
def test_backup_key_never_signs(cos_server):
    for kind in ("typea", "typed"):
        storage = cdn_storage(cos_server, cdn_auth_type=kind, cdn_auth_backup_key=BACKUP)
        _, path, query = parts(storage.sign("a.png", T0, T0 + 7200))
        if kind == "typea":
            stamp, rand, uid, digest = query["sign"].split("-")
            assert digest == md5(f"{path}-{stamp}-{rand}-{uid}-{KEY}") != md5(f"{path}-{stamp}-{rand}-{uid}-{BACKUP}")
        else:
            assert query["sign"] == md5(KEY + path + query["t"]) != md5(BACKUP + path + query["t"])
        assert storage.sign("a.png", T0, T0 + 7200) == cdn_storage(cos_server, cdn_auth_type=kind).sign(
            "a.png", T0, T0 + 7200
        )


def test_rand_depends_on_the_key_so_it_cannot_be_guessed(cos_server):
    one = parts(cdn_storage(cos_server).sign("a.png", T0, T0 + 1))[2]["sign"].split("-")[1]
    other = parts(cdn_storage(cos_server, cdn_auth_key="Another0Key0789").sign("a.png", T0, T0 + 1))[2]["sign"]
    assert one != other.split("-")[1]


# -- redirect targets ----------------------------------------------------------------------
def test_owns_only_the_cdn_host(cos_server):
    storage = cdn_storage(cos_server)
    url = storage.sign("a.png", T0, T0 + 7200)
    assert storage.owns_url(url)
    assert storage.owns_url(url.replace(CDN, CDN.upper()))
    for other in (
        url.replace(CDN, cos_server.bucket_host),  # the bucket itself is not a redirect target
        url.replace(CDN, CDN + ".evil.com"),
        url.replace(CDN, "evil.com@" + CDN),
        url.replace(CDN, CDN + ":8443"),
        url.replace("http://", "https://"),
        f"https://{cos_server.endpoint}/a.png",
    ):
        assert not storage.owns_url(other), other


def test_redirect_goes_to_the_cdn_url(cos_server, tmp_path):
    from api.app import create_app

    cos_server.put("gallery/a.png", b"png")
    settings = cdn_settings(cos_server, data_dir=tmp_path, admin_token="t", rate_limit_enabled=False)
    app = create_app(settings, clock=ManualClock(T0))
    response = app.test_client().get("/i/gallery/a.png")
    host, path, query = parts(response.headers["Location"])
    assert response.status_code == 302 and host == CDN and path == "/gallery/a.png"
    stamp, rand, uid, digest = query["sign"].split("-")
    assert digest == md5(f"{path}-{stamp}-{rand}-{uid}-{KEY}")
    app.extensions["url_cache"].close()


# -- settings --------------------------------------------------------------------------------
CDN_ENV = {
    "STORAGE_BACKEND": "cos",
    "COS_SECRET_ID": "id",
    "COS_SECRET_KEY": "key",
    "COS_BUCKET": "b-1250000000",
    "COS_REGION": "ap-beijing",
    "COS_DOMAIN": CDN,
    "CDN_AUTH_TYPE": "TypeA",
    "CDN_AUTH_KEY": KEY,
}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CDN_AUTH_KEY": "short"}, "CDN_AUTH_KEY must be 6-40 letters and digits"),
        ({"CDN_AUTH_KEY": "a" * 41}, "CDN_AUTH_KEY must be 6-40 letters and digits"),
        ({"CDN_AUTH_KEY": "not-alnum-key"}, "CDN_AUTH_KEY must be 6-40 letters and digits"),
        ({"CDN_AUTH_BACKUP_KEY": "密钥密钥密钥密钥"}, "CDN_AUTH_BACKUP_KEY must be 6-40 letters and digits"),
        ({"CDN_AUTH_SIGN_PARAM": "a-b"}, "CDN_AUTH_SIGN_PARAM must be 1-100 letters, digits or underscores"),
        ({"CDN_AUTH_TIME_PARAM": "t" * 101}, "CDN_AUTH_TIME_PARAM must be 1-100"),
        ({"CDN_AUTH_TYPE": "typeb"}, "CDN_AUTH_TYPE must be one of none, typea, typed"),
        ({"CDN_AUTH_TIMESTAMP_FORMAT": "oct"}, "CDN_AUTH_TIMESTAMP_FORMAT must be one of dec, hex"),
        ({"COS_DOMAIN": ""}, "CDN_AUTH_TYPE needs STORAGE_BACKEND=cos and the CDN domain in COS_DOMAIN"),
        ({"STORAGE_BACKEND": "local", "COS_DOMAIN": CDN}, "CDN_AUTH_TYPE needs STORAGE_BACKEND=cos"),
        ({"CDN_AUTH_KEY": ""}, "CDN_AUTH_TYPE=typea needs CDN_AUTH_KEY"),
        ({"CDN_AUTH_BACKUP_KEY": KEY}, "CDN_AUTH_BACKUP_KEY must differ from CDN_AUTH_KEY"),
        ({"CDN_AUTH_TYPE": "typed", "CDN_AUTH_TIME_PARAM": "sign"}, "CDN_AUTH_TIME_PARAM must differ"),
        ({"CDN_AUTH_VALID_SECONDS": "7199"}, "CDN_AUTH_VALID_SECONDS (the console's valid time) must be between"),
        ({"CDN_AUTH_VALID_SECONDS": "630720001"}, "and 630720000, got 630720001"),
        ({"CDN_AUTH_TYPE": "none"}, "CDN_AUTH_KEY set but CDN_AUTH_TYPE=none"),
    ],
)
def test_settings_refuse_bad_cdn_auth(env, message):
    with pytest.raises(SettingsError, match=re.escape(message)) as caught:
        Settings.from_env({**CDN_ENV, **env})
    assert KEY not in str(caught.value)


def test_settings_accept_the_console_spelling_and_a_valid_time_covering_the_window():
    settings = Settings.from_env(
        {
            **CDN_ENV,
            "CDN_AUTH_TYPE": "TypeD",
            "CDN_AUTH_BACKUP_KEY": BACKUP,
            "CDN_AUTH_VALID_SECONDS": "7200",  # URL_WINDOW_SECONDS + URL_MIN_REMAINING_SECONDS by default
        }
    )
    assert settings.cdn_auth_type == "typed" and settings.cdn_auth_valid_seconds == 7200
