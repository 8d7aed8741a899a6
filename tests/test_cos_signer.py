"""Our COS signer against Tencent's published example and the real SDK under a pinned clock."""

from __future__ import annotations

import types
from urllib.parse import parse_qsl, urlsplit

import pytest
import qcloud_cos.cos_auth
from qcloud_cos import CosConfig, CosS3Client

from api.storage import cos_signer

SECRET_ID = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q"
SECRET_KEY = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz"
BUCKET = "examplebucket-1250000000"
NOW = 1_700_000_000


def test_reproduces_tencent_published_get_example():
    # https://cloud.tencent.com/document/product/436/7778 (request signature, GET example)
    assert (
        cos_signer.signature(
            SECRET_KEY,
            "1557989753;1557996953",
            "GET",
            "/exampleobject(腾讯云)",
            params={"response-content-type": "application/octet-stream", "response-cache-control": "max-age=600"},
            headers={
                "Date": "Thu, 16 May 2019 06:55:53 GMT",
                "Host": "examplebucket-1250000000.cos.ap-beijing.myqcloud.com",
            },
        )
        == "01681b8c9d798a678e43b685a9f1bba0f6c0e012"
    )


def test_authorization_lists_signed_names_sorted_and_lowercased():
    fields = dict(
        cos_signer.authorization(
            SECRET_ID,
            SECRET_KEY,
            1557989753,
            1557996953,
            "GET",
            "/exampleobject(腾讯云)",
            params={"response-content-type": "application/octet-stream", "response-cache-control": "max-age=600"},
            headers={
                "Host": "examplebucket-1250000000.cos.ap-beijing.myqcloud.com",
                "Date": "Thu, 16 May 2019 06:55:53 GMT",
            },
        )
    )
    assert fields["q-header-list"] == "date;host"
    assert fields["q-url-param-list"] == "response-cache-control;response-content-type"
    assert fields["q-key-time"] == fields["q-sign-time"] == "1557989753;1557996953"
    assert fields["q-signature"] == "01681b8c9d798a678e43b685a9f1bba0f6c0e012"


@pytest.fixture
def pinned_sdk(monkeypatch):
    """The real SDK, with only the clock its auth module reads pinned to NOW."""
    monkeypatch.setattr(qcloud_cos.cos_auth, "time", types.SimpleNamespace(time=lambda: NOW))

    def presign(key, expired=3600, token=None, **config):
        config.setdefault("Region", "ap-beijing")
        client = CosS3Client(CosConfig(SecretId=SECRET_ID, SecretKey=SECRET_KEY, Token=token, **config), retry=0)
        # The SDK leaves a configured Token out of presigned URLs unless it is passed as a param.
        params = {"x-cos-security-token": token} if token else {}
        return client.get_presigned_url(Bucket=BUCKET, Key=key, Method="GET", Expired=expired, Params=params)

    return presign


def ours(key, host=f"{BUCKET}.cos.ap-beijing.myqcloud.com", scheme="https", expired=3600, token=None):
    # The SDK signs from now - 60 to now + Expired.
    return cos_signer.presigned_url(
        scheme=scheme,
        host=host,
        key=key,
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        start=NOW - 60,
        expires=NOW + expired,
        token=token,
    )


@pytest.mark.parametrize(
    "key",
    [
        "gallery/a.png",
        "Gallery/Mixed Case.PNG",
        "exampleobject(腾讯云)",
        "空 间/图片 (1).png",
        "odd/chars +&=?#%;,'!*@$.png",
        "dots./in.the/./middle..png",
        "/leading-slash.png",
    ],
)
def test_agrees_with_sdk_for_keys(pinned_sdk, key):
    assert ours(key) == pinned_sdk(key)


def test_agrees_with_sdk_for_http_scheme_and_expiry(pinned_sdk):
    assert ours("a.png", scheme="http", expired=7200) == pinned_sdk("a.png", expired=7200, Scheme="http")


@pytest.mark.parametrize("domain", ["img.example.com", "IMG.Example.com", "cdn.example.com:8443", "127.0.0.1:9000"])
def test_agrees_with_sdk_for_custom_domain(pinned_sdk, domain):
    url = ours("空 间/图片 (1).png", host=domain)
    assert url == pinned_sdk("空 间/图片 (1).png", Domain=domain)
    assert url.startswith(f"https://{domain}/")


def test_agrees_with_sdk_for_sts_token(pinned_sdk):
    token = "sts/token+with=odd&chars"
    url = ours("gallery/a.png", token=token)
    assert url == pinned_sdk("gallery/a.png", token=token)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["x-cos-security-token"] == token
    assert query["q-url-param-list"] == "x-cos-security-token"


def test_a_different_clock_gives_a_different_sdk_url(pinned_sdk):
    # Guards the pin itself: if the SDK stopped reading cos_auth.time, agreement would be luck.
    assert ours("a.png", expired=60) != pinned_sdk("a.png", expired=3600)


def test_deterministic_and_sensitive_to_every_input():
    base = dict(
        scheme="https", host="h.example.com", key="a.png", secret_id="id", secret_key="SeCrEt", start=100, expires=200
    )
    url = cos_signer.presigned_url(**base)
    assert url == cos_signer.presigned_url(**base)
    for change in (
        {"key": "b.png"},
        {"start": 101},
        {"expires": 201},
        {"secret_key": "SeCrEt2"},
        {"host": "g.example.com"},
        {"token": "t"},
    ):
        assert cos_signer.presigned_url(**{**base, **change}) != url, change
    assert "SeCrEt" not in url


def test_signed_host_ignores_port_and_case():
    make = lambda host: cos_signer.presigned_url(
        scheme="https", host=host, key="a.png", secret_id="id", secret_key="k", start=100, expires=200
    )
    signature = lambda url: dict(parse_qsl(urlsplit(url).query))["q-signature"]
    assert signature(make("H.example.com:8443")) == signature(make("h.example.com"))
