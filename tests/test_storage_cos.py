"""CosStorage through the real SDK against the local COS test server (which checks signatures)."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from api.settings import Settings
from api.storage import AccessDenied, ObjectNotFound, RangeNotSatisfiable, StorageUnavailable, build_storage
from api.storage.cos import CosStorage

from .cos_server import cos_storage_for
from .storage_contract import OBJECTS, PNG, StorageContract
from .support import fetch


@pytest.fixture
def make_storage(cos_server):
    def make(objects):
        for key, data in objects.items():
            cos_server.put(key, data)
        return cos_storage_for(cos_server)

    return make


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


class TestCosStorage(StorageContract):
    # -- wiring -----------------------------------------------------------------------------
    def test_build_storage_picks_cos_and_requests_reach_the_endpoint(self, cos_server):
        cos_server.put("a.png", b"x")
        storage = build_storage(
            Settings.from_env(
                {},
                storage_backend="cos",
                cos_secret_id=cos_server.secret_id,
                cos_secret_key=cos_server.secret_key,
                cos_bucket=cos_server.bucket,
                cos_region=cos_server.region,
                cos_scheme="http",
                cos_endpoint=cos_server.endpoint,
            )
        )
        assert isinstance(storage, CosStorage)
        assert storage.head("a.png").size == 1
        # The SDK sends the bucket's own domain as Host, not the endpoint it connects to.
        assert cos_server.requests[-1].headers["host"] == cos_server.bucket_host

    def test_head_and_open_carry_cos_etag_and_http_dates(self, storage, cos_server):
        stored = cos_server.objects["gallery/a.png"]
        info = storage.head("gallery/a.png")
        assert info.etag == stored.etag and info.etag.startswith('"')
        assert info.last_modified == stored.last_modified
        stream = storage.open("gallery/a.png", (0, 9))
        stream.close()
        assert stream.info.etag == stored.etag and stream.info.size == len(PNG)

    def test_listing_metadata_matches_head(self, storage):
        (item,) = storage.list("other/", None, limit=10).items
        assert item == storage.head("other/d.png")

    def test_listing_unicode_keys_round_trip(self, storage):
        keys = [i.key for i in storage.list("空 间/", None, limit=10).items]
        assert keys == ["空 间/图片 (1).png"]

    def test_wrong_secret_key_is_access_denied_at_once(self, cos_server):
        cos_server.put("a.png", b"x")
        storage = cos_storage_for(cos_server, cos_secret_key="not-the-key")
        with pytest.raises(AccessDenied):
            storage.head("a.png")
        assert cos_server.count() == 1

    def test_server_verifies_sdk_put_signatures(self, cos_server):
        def put(secret_key):
            client = CosS3Client(
                CosConfig(
                    SecretId=cos_server.secret_id,
                    SecretKey=secret_key,
                    Region=cos_server.region,
                    Scheme="http",
                    IP="127.0.0.1",
                    Port=cos_server.port,
                ),
                retry=0,
            )
            client.put_object(Bucket=cos_server.bucket, Key="up/load.png", Body=b"payload")

        put(cos_server.secret_key)
        assert cos_server.objects["up/load.png"].data == b"payload"
        with pytest.raises(CosServiceError) as caught:
            put("wrong-key")
        assert caught.value.get_status_code() == 403

    # -- presigned URLs --------------------------------------------------------------------
    def test_signed_url_fetches_the_bytes(self, storage):
        now = int(time.time())
        url = storage.sign("空 间/图片 (1).png", now - 60, now + 3600)
        assert storage.owns_url(url)
        assert fetch(url) == (200, OBJECTS["空 间/图片 (1).png"])

    @pytest.mark.parametrize("key", ["Mixed/Case Key+plus (2).PNG", "dots./and;semi,comma@at$.jpg"])
    def test_signed_url_for_awkward_keys(self, cos_server, key):
        cos_server.put(key, b"awkward")
        storage = cos_storage_for(cos_server)
        now = int(time.time())
        assert fetch(storage.sign(key, now - 60, now + 3600)) == (200, b"awkward")
        assert storage.head(key).size == 7
        assert [i.key for i in storage.list(key[:3], None, 10).items] == [key]

    def test_tampered_signed_url_is_refused(self, storage):
        now = int(time.time())
        url = storage.sign("gallery/a.png", now - 60, now + 3600)
        assert fetch(url)[0] == 200
        status, body = fetch(url.replace("gallery/a.png", "gallery/b.jpg"))
        assert status == 403 and b"SignatureDoesNotMatch" in body
        longer = f"{now - 60};{now + 7200}"
        assert fetch(with_query(url, **{"q-key-time": longer, "q-sign-time": longer}))[0] == 403
        signature = dict(parse_qsl(urlsplit(url).query))["q-signature"]
        assert fetch(with_query(url, **{"q-signature": signature[::-1]}))[0] == 403

    def test_expired_signed_url_is_refused(self, storage):
        now = int(time.time())
        status, body = fetch(storage.sign("gallery/a.png", now - 7200, now - 3600))
        assert status == 403 and b"Request has expired" in body

    def test_owns_only_its_scheme_and_host(self, cos_server):
        storage = cos_storage_for(cos_server, cos_domain=None, cos_scheme="https")
        url = storage.sign("a.png", 100, 200)
        assert url.startswith(f"https://{cos_server.bucket_host}/a.png?")
        assert storage.owns_url(url)
        assert not storage.owns_url(url.replace("https://", "http://"))
        assert not storage.owns_url(url.replace(cos_server.bucket_host, cos_server.bucket_host + ".evil.com"))
        assert not storage.owns_url(url.replace(cos_server.bucket_host, "evil.com@" + cos_server.bucket_host))
        assert not storage.owns_url(url.replace(cos_server.bucket_host, cos_server.bucket_host + ":444"))

    # -- STS token -------------------------------------------------------------------------
    def test_sts_token_is_sent_and_verified(self, cos_server):
        token = "sts-token/with+odd=chars"
        cos_server.put("a.png", b"abc")
        cos_server.token = token
        storage = cos_storage_for(cos_server, cos_token=token)
        assert storage.head("a.png").size == 3
        assert cos_server.requests[-1].headers["x-cos-security-token"] == token
        assert [i.key for i in storage.list("", None, 10).items] == ["a.png"]
        now = int(time.time())
        url = storage.sign("a.png", now - 60, now + 3600)
        assert fetch(url) == (200, b"abc")
        assert fetch(with_query(url, **{"x-cos-security-token": "forged"}))[0] == 403
        with pytest.raises(AccessDenied):
            cos_storage_for(cos_server).head("a.png")  # no token at all

    # -- faults and retries ----------------------------------------------------------------
    def test_5xx_twice_then_success(self, storage, cos_server):
        cos_server.inject("gallery/a.png", status=503, times=2)
        assert storage.head("gallery/a.png").size == len(PNG)
        assert cos_server.count("HEAD", "gallery/a.png") == 3

    def test_5xx_on_open_and_list_are_retried(self, storage, cos_server):
        cos_server.inject(status=500, times=1)
        stream = storage.open("gallery/a.png", (0, 3))
        assert b"".join(stream.chunks) == PNG[:4]
        stream.close()
        cos_server.inject(status=502, times=2)
        assert len(storage.list("gallery/", None, 10).items) == 3
        assert cos_server.count("GET") == 5

    def test_persistent_5xx_raises_storage_unavailable_after_all_retries(self, storage, cos_server):
        cos_server.inject(status=503, times=100)
        with pytest.raises(StorageUnavailable):
            storage.list("gallery/", None, 10)
        assert cos_server.count() == 4  # 1 try + storage_retries (3)

    def test_404_fails_at_once(self, storage, cos_server):
        with pytest.raises(ObjectNotFound):
            storage.head("gallery/missing.png")
        with pytest.raises(ObjectNotFound):
            storage.open("gallery/missing.png")
        assert cos_server.count() == 2

    def test_403_and_416_fail_at_once(self, storage, cos_server):
        cos_server.inject("gallery/a.png", status=403)
        with pytest.raises(AccessDenied):
            storage.head("gallery/a.png")
        with pytest.raises(RangeNotSatisfiable):
            storage.open("gallery/a.png", (len(PNG), None))
        assert cos_server.count() == 2

    def test_dropped_connection_is_retried(self, storage, cos_server):
        cos_server.inject("gallery/a.png", drop=True, times=1)
        assert storage.head("gallery/a.png").size == len(PNG)
        assert cos_server.count("HEAD", "gallery/a.png") == 2

    def test_persistently_dropped_connection_raises_storage_unavailable(self, storage, cos_server):
        cos_server.inject(drop=True, times=100)
        with pytest.raises(StorageUnavailable):
            storage.open("gallery/a.png")
        assert cos_server.count() == 4

    def test_timeout_is_retried(self, cos_server):
        cos_server.put("slow.png", b"slow")
        storage = cos_storage_for(cos_server, cos_timeout_seconds=0.2)
        cos_server.inject("slow.png", delay=0.5, times=1)
        assert storage.head("slow.png").size == 4
        assert cos_server.count("HEAD", "slow.png") == 2

    def test_persistent_timeout_raises_storage_unavailable(self, cos_server):
        cos_server.put("slow.png", b"slow")
        storage = cos_storage_for(cos_server, cos_timeout_seconds=0.2, storage_retries=2)
        cos_server.inject("slow.png", delay=0.4, times=100)
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            storage.head("slow.png")
        assert cos_server.count("HEAD", "slow.png") == 3
        assert time.monotonic() - started < 2  # no SDK-side retry sleeps stacked on ours

    def test_body_cut_mid_stream_raises_storage_unavailable(self, storage, cos_server):
        cos_server.inject("gallery/a.png", truncate=True)
        stream = storage.open("gallery/a.png")
        try:
            with pytest.raises(StorageUnavailable):
                b"".join(stream.chunks)
        finally:
            stream.close()
        assert cos_server.count() == 1  # mid-stream is not retried: bytes already went out

    def test_a_short_delay_within_the_timeout_is_not_an_error(self, storage, cos_server):
        cos_server.inject("gallery/a.png", delay=0.05)
        assert storage.head("gallery/a.png").size == len(PNG)
        assert cos_server.count() == 1
