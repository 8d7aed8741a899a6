"""Rotating COS credentials: static keys, an STS file re-read on change, a CAM role via the
Tencent SDK; against the COS test server, which issues temporary keys and refuses expired ones."""

from __future__ import annotations

import json
import os
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import qcloud_cos.cos_auth
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from api.cache.url_cache import UrlCache
from api.clock import ManualClock
from api.settings import Settings, SettingsError
from api.storage import StorageUnavailable
from api.storage.cos import CosStorage
from api.storage.cos_credentials import FILE_CHECK_SECONDS, CamRoleCredentials, parse_sts
from api.windows import window_for

from .cos_server import cos_settings_for
from .support import fetch

T0 = 1_800_000_000
WINDOW, MIN_REMAINING = 3600, 1800
KEYS = [f"gallery/{i}.png" for i in range(8)]


def write_atomically(path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def file_settings(cos_server, path, **overrides) -> Settings:
    values = dict(
        cos_secret_id=None,
        cos_secret_key=None,
        cos_credentials_source="file",
        cos_credentials_file=path,
        url_window_seconds=WINDOW,
        url_min_remaining_seconds=MIN_REMAINING,
    )
    values.update(overrides)
    return cos_settings_for(cos_server, **values)


@pytest.fixture
def rotating(cos_server, tmp_path, monkeypatch):
    """(clock, credentials file, storage, cache) with the server, and the time the SDK signs its
    requests from, on the same manual clock (as tests/test_cos_signer.py pins it)."""
    clock = ManualClock(T0)
    cos_server.clock = clock
    monkeypatch.setattr(qcloud_cos.cos_auth, "time", types.SimpleNamespace(time=clock))
    for key in KEYS:
        cos_server.put(key, key.encode())
    path = tmp_path / "cos-credentials.json"
    write_atomically(path, cos_server.issue_temporary(2 * 3600))
    settings = file_settings(cos_server, path)
    storage = CosStorage.from_settings(settings, clock)
    cache = UrlCache(storage, None, settings, clock=clock)
    yield clock, path, storage, cache
    cache.close()


def signer_of(url: str) -> str:
    return dict(parse_qsl(urlsplit(url).query))["q-ak"]


# -- parsing -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        {"credentials": {"tmpSecretId": "id", "tmpSecretKey": "k", "sessionToken": "t"}, "expiredTime": 99},
        {"tmpSecretId": "id", "tmpSecretKey": "k", "sessionToken": "t", "expiredTime": 99},
        {"Response": {"Credentials": {"TmpSecretId": "id", "TmpSecretKey": "k", "Token": "t"}, "ExpiredTime": 99}},
    ],
)
def test_sts_json_shapes(data):
    credential = parse_sts(data)
    assert (credential.secret_id, credential.secret_key, credential.token, credential.expires_at) == (
        "id",
        "k",
        "t",
        99,
    )
    assert "'k'" not in repr(credential) and "'t'" not in repr(credential)  # secrets stay out of logs


@pytest.mark.parametrize("data", [{}, {"tmpSecretId": "id", "tmpSecretKey": "k", "sessionToken": "t"}, {"a": 1}])
def test_incomplete_sts_json_is_refused(data):
    with pytest.raises(ValueError):
        parse_sts(data)


# -- the file source ---------------------------------------------------------------------------
def test_rotation_under_the_clock_never_hands_out_a_url_past_its_key(cos_server, rotating):
    """A credential lives 2 h and the file is rewritten every hour (as a sidecar refreshing at
    half-life would). Over 12 h in 5-minute steps, every URL handed out is signed by a key that
    outlives it, keeps MIN_REMAINING, and the server accepts it at once and until its expires_at."""
    clock, path, storage, cache = rotating
    signers, rotations = set(), 0
    for step in range(12 * 12):
        if step and step % 12 == 0:
            write_atomically(path, cos_server.issue_temporary(2 * 3600))
            rotations += 1
        now = clock()
        found, errors = cache.resolve_many(KEYS)
        assert not errors
        for resolved in found.values():
            key = cos_server.temporary[signer_of(resolved.url)]
            signers.add(signer_of(resolved.url))
            assert resolved.expires_at <= key.expires  # never outlives its credential
            assert resolved.expires_at - now >= MIN_REMAINING
            assert now < resolved.refresh_at <= resolved.expires_at - MIN_REMAINING
            assert fetch(resolved.url)[0] == 200
            clock.now = resolved.expires_at - 1  # the server still takes it at the end of its life
            assert fetch(resolved.url)[0] == 200
            clock.now = now
        assert storage.head(KEYS[0]).size == len(KEYS[0])  # SDK requests follow the rotation too
        clock.advance(300)
    assert rotations == 11 and len(signers) == 12  # every credential signed, none kept past its time


def test_a_new_credential_re_signs_within_the_window(cos_server, rotating):
    clock, path, _, cache = rotating
    first = cache.resolve(KEYS[0])
    write_atomically(path, cos_server.issue_temporary(2 * 3600))
    assert cache.resolve(KEYS[0]).url == first.url  # not looked at before FILE_CHECK_SECONDS
    clock.advance(FILE_CHECK_SECONDS)
    second = cache.resolve(KEYS[0])
    assert signer_of(second.url) != signer_of(first.url) and fetch(second.url)[0] == 200


def test_expired_temporary_keys_are_refused_by_the_server_and_never_used(cos_server, rotating):
    clock, path, storage, cache = rotating
    last = cache.resolve(KEYS[0])
    key = cos_server.temporary[signer_of(last.url)]
    clock.now = key.expires - MIN_REMAINING // 2  # no rotation came: URLs are cut to the key's end
    late = cache.resolve(KEYS[0])
    assert late.expires_at == key.expires and clock() < late.refresh_at < late.expires_at
    assert fetch(late.url)[0] == 200
    clock.now = key.expires
    status, body = fetch(late.url)
    assert status == 403 and b"ExpiredToken" in body
    with pytest.raises(StorageUnavailable, match="expired"):
        cache.resolve(KEYS[0])
    with pytest.raises(StorageUnavailable):
        storage.head(KEYS[0])
    write_atomically(path, cos_server.issue_temporary(3600 * 2))  # the sidecar is back
    clock.advance(FILE_CHECK_SECONDS)
    assert fetch(cache.resolve(KEYS[0]).url)[0] == 200
    assert storage.head(KEYS[0]).size == len(KEYS[0])


def test_a_half_written_file_keeps_the_previous_key(cos_server, rotating):
    clock, path, _, cache = rotating
    first = cache.resolve(KEYS[0])
    path.write_text('{"credentials": {"tmpSecretId": "AKID')
    clock.advance(FILE_CHECK_SECONDS)
    assert cache.resolve(KEYS[0]).url == first.url


def test_the_server_checks_the_token_of_the_key_it_issued(cos_server):
    clock = ManualClock(T0)
    cos_server.clock = clock
    cos_server.put("a.png", b"a")
    one, two = cos_server.issue_temporary(3600), cos_server.issue_temporary(3600)
    url = CosStorage.from_settings(
        cos_settings_for(
            cos_server,
            cos_secret_id=one["credentials"]["tmpSecretId"],
            cos_secret_key=one["credentials"]["tmpSecretKey"],
            cos_token=two["credentials"]["sessionToken"],  # another key's token
        ),
        clock,
    ).sign("a.png", T0 - 60, T0 + 600)
    status, body = fetch(url)
    assert status == 403 and b"security token" in body


def test_the_sdk_credential_instance_drops_the_token(cos_server):
    """Why the SDK client is rebuilt per credential: CosConfig(CredentialInstance=...) signs with
    the instance's id and key but never sends its token, so COS refuses temporary keys."""
    cos_server.put("a.png", b"a")
    issued = cos_server.issue_temporary(3600)["credentials"]

    class Instance:
        secret_id, secret_key, token = issued["tmpSecretId"], issued["tmpSecretKey"], issued["sessionToken"]

    client = CosS3Client(
        CosConfig(
            CredentialInstance=Instance(), Region=cos_server.region, Scheme="http", IP="127.0.0.1", Port=cos_server.port
        ),
        retry=0,
    )
    with pytest.raises(CosServiceError) as caught:
        client.get_object(Bucket=cos_server.bucket, Key="a.png")
    assert caught.value.get_status_code() == 403 and "security token" in caught.value.get_error_msg()
    assert "x-cos-security-token" not in cos_server.requests[-1].headers


# -- settings ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COS_CREDENTIALS_SOURCE": "file"}, "COS_CREDENTIALS_FILE is used exactly when COS_CREDENTIALS_SOURCE=file"),
        ({"COS_CREDENTIALS_FILE": "/run/cos.json"}, "COS_CREDENTIALS_FILE is used exactly when"),
        ({"COS_CAM_ROLE": "images"}, "COS_CAM_ROLE needs COS_CREDENTIALS_SOURCE=cvm-role"),
        ({"COS_CREDENTIALS_SOURCE": "cvm-role", "COS_SECRET_ID": "id"}, "contradicts COS_SECRET_ID"),
        ({"COS_CREDENTIALS_SOURCE": "sts"}, "COS_CREDENTIALS_SOURCE must be one of"),
        ({"COS_CREDENTIALS_SOURCE": "static"}, "STORAGE_BACKEND=cos needs COS_SECRET_ID, COS_SECRET_KEY"),
    ],
)
def test_settings_refuse_contradictory_credentials(env, message):
    base = {"STORAGE_BACKEND": "cos", "COS_BUCKET": "b-1250000000", "COS_REGION": "ap-beijing"}
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**base, **env})


def test_settings_for_each_source():
    base = {"STORAGE_BACKEND": "cos", "COS_BUCKET": "b-1250000000", "COS_REGION": "ap-beijing"}
    assert Settings.from_env({**base, "COS_CREDENTIALS_SOURCE": "file", "COS_CREDENTIALS_FILE": "/run/c.json"})
    assert Settings.from_env({**base, "COS_CREDENTIALS_SOURCE": "cvm-role", "COS_CAM_ROLE": "images"})
    assert Settings.from_env({**base, "COS_CREDENTIALS_SOURCE": "tke-oidc"})


# -- CAM role through tencentcloud-sdk-python-common -----------------------------------------
class _Metadata(BaseHTTPRequestHandler):
    """Answers like the CVM metadata service's cam/security-credentials/<role>."""

    def do_GET(self) -> None:
        body = json.dumps(self.server.answer).encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def metadata_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Metadata)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_cvm_role_credentials_through_the_sdk(cos_server, metadata_server):
    """The SDK's CVMRoleCredential against a local stand-in for the metadata service. The SDK has
    no public setting for that URL; its class attribute `_role_endpoint` is it, set on the
    instance here (asserted to exist, so an SDK change fails here, not silently). The SDK reads
    real time, so the server does too; keys within 300 s of expiry are re-fetched by the SDK."""
    from tencentcloud.common.credential import CVMRoleCredential

    cos_server.put("a.png", b"a")

    def serve(duration: int) -> dict:
        issued = cos_server.issue_temporary(duration)
        c = issued["credentials"]
        metadata_server.answer = {
            "Code": "Success",
            "TmpSecretId": c["tmpSecretId"],
            "TmpSecretKey": c["tmpSecretKey"],
            "Token": c["sessionToken"],
            "ExpiredTime": issued["expiredTime"],
        }
        return issued

    sdk = CVMRoleCredential("images-role")
    assert isinstance(CVMRoleCredential._role_endpoint, str)
    sdk._role_endpoint = f"http://127.0.0.1:{metadata_server.server_address[1]}/cam/security-credentials/"
    first = serve(200)  # under 300 s left: the SDK fetches again on every use
    settings = cos_settings_for(cos_server)
    storage = CosStorage.from_settings(settings)
    storage.credentials = CamRoleCredentials(sdk)
    assert storage.signing_key().expires_at == first["expiredTime"]
    url = storage.sign("a.png", int(cos_server.clock()) - 60, int(cos_server.clock()) + 3600)
    assert signer_of(url) == first["credentials"]["tmpSecretId"]
    assert f"%3B{first['expiredTime']}&" in url  # the COS signature time is cut to the key's expiry
    assert fetch(url)[0] == 200 and storage.head("a.png").size == 1
    second = serve(3600)
    assert storage.head("a.png").size == 1
    assert cos_server.requests[-1].headers["x-cos-security-token"] == second["credentials"]["sessionToken"]
    assert storage.signing_key().expires_at == second["expiredTime"]


# -- windows cut to the key ----------------------------------------------------------------------
def test_windows_are_cut_to_the_signing_keys_expiry():
    full = window_for("k.png", T0, WINDOW, MIN_REMAINING)
    assert window_for("k.png", T0, WINDOW, MIN_REMAINING, not_after=full.expires) == full
    cut = window_for("k.png", T0, WINDOW, MIN_REMAINING, not_after=T0 + 2400)
    assert (cut.start, cut.end, cut.expires) == (full.start, min(full.end, T0 + 2400 - MIN_REMAINING), T0 + 2400)
    short = window_for("k.png", T0, WINDOW, MIN_REMAINING, not_after=T0 + 600)  # less than MIN_REMAINING left
    assert (short.end, short.expires) == (T0 + 300, T0 + 600)  # renewed halfway through what is left
