"""Security headers: a strict CSP that still lets the pages work, nosniff, referrer policy, HSTS on https."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from api.app import create_app


@pytest.fixture
def client(make_settings, clock):
    app = create_app(make_settings(), clock=clock)
    yield app.test_client()
    app.extensions["url_cache"].close()


def directives(policy: str) -> dict[str, list[str]]:
    return {name: rest for name, *rest in (part.split() for part in policy.split(";"))}


def test_docs_may_run_exactly_their_own_inline_bootstrap(client):
    response = client.get("/docs")
    policy = directives(response.headers["Content-Security-Policy"])
    inline = re.findall(rb"<script>(.*?)</script>", response.data, re.DOTALL)
    assert len(inline) == 1
    expected = "'sha256-" + base64.b64encode(hashlib.sha256(inline[0]).digest()).decode() + "'"
    assert policy["script-src"] == ["'self'", expected]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]


def test_images_may_come_from_the_store_and_placeholders(make_settings, clock):
    app = create_app(make_settings(public_base_url="https://img.example.com"), clock=clock)
    response = app.test_client().get("/docs")
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["img-src"] == ["'self'", "https://img.example.com", "data:", "blob:"]
    app.extensions["url_cache"].close()


@pytest.mark.parametrize(
    "path", ["/api/v1/urls/gallery/red.png", "/p/gallery/red.png", "/healthz", "/i/gallery/red.png"]
)
def test_everything_else_is_sandboxed_and_not_sniffed(client, path):
    response = client.get(path)
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'; sandbox"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
