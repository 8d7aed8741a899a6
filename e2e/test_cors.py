"""A page on another origin uses the API in real Chromium: a JSON POST (preflighted for its
`Content-Type`) and conditional and ranged fetches of `/p/` (preflighted for `If-None-Match`
and `Range`) work from an origin in CORS_ORIGINS, and are blocked from any other.

The stack here is of its own (CORS_ORIGINS names the allowed page's origin, known only once its
port is), and the pages are served by a tiny HTTP server on two more loopback ports.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from api.embedded_redis import free_port

from .console import ConsoleWatch
from .processes import become_subreaper
from .stacks import Stack, own_stack

PAGE = b"<!doctype html><html><head><title>another origin</title></head><body>cors</body></html>"

CALLS = """async ([base, key]) => {
    const post = await fetch(`${base}/api/v1/urls`, {
        method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({keys: [key]}),
    })
    const resolved = await post.json()
    const first = await fetch(`${base}/p/${key}`, {cache: 'no-store'})
    const etag = first.headers.get('ETag')
    await first.arrayBuffer()
    const again = await fetch(`${base}/p/${key}`, {headers: {'If-None-Match': etag}})
    const ranged = await fetch(`${base}/p/${key}`, {headers: {'Range': 'bytes=0-9'}, cache: 'no-store'})
    return {
        post: post.status, items: resolved.items.map((item) => item.key), etag,
        again: again.status, ranged: ranged.status, contentRange: ranged.headers.get('Content-Range'),
        bytes: (await ranged.arrayBuffer()).byteLength,
    }
}"""

BLOCKED = """async ([base, key]) => {
    const outcome = async (request) => {
        try { return `answered ${(await request).status}` } catch (error) { return error.name }
    }
    return {
        post: await outcome(fetch(`${base}/api/v1/urls`, {
            method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({keys: [key]}),
        })),
        conditional: await outcome(fetch(`${base}/p/${key}`, {headers: {'If-None-Match': '"x"'}})),
        simple: await outcome(fetch(`${base}/p/${key}`)),
    }
}"""


class PageServer:
    """One static page on a loopback port of its own: another origin than the stack's."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def pages() -> Iterator[tuple[PageServer, PageServer]]:
    allowed, other = PageServer(), PageServer()
    yield allowed, other
    allowed.close()
    other.close()


@pytest.fixture(scope="module")
def cors_stack(tmp_path_factory, pytestconfig, pages) -> Iterator[Stack]:
    become_subreaper()
    allowed, _ = pages
    output = Path(pytestconfig.getoption("--output"))
    with own_stack(
        "cors",
        tmp_path_factory.mktemp("e2e-cors"),
        output,
        {"CORS_ORIGINS": allowed.origin, "RATE_LIMIT_ENABLED": "false"},
    ) as stack:
        yield stack


@pytest.fixture
def cross_page(browser: Browser) -> Iterator[tuple[Page, ConsoleWatch]]:
    """A page of its own context (not the `page` fixture, which would start the session stacks)."""
    context = browser.new_context()
    page = context.new_page()
    console = ConsoleWatch()
    console.watch(page)
    yield page, console
    context.close()


def a_key(stack: Stack) -> str:
    status, body = stack.api("GET", "/api/v1/images?prefix=demo/&limit=1")
    assert status == 200 and body["items"], body
    return body["items"][0]["key"]


def test_an_allowed_origin_posts_json_and_fetches_conditionally(cors_stack, pages, cross_page):
    page, console = cross_page
    allowed, _ = pages
    key = a_key(cors_stack)
    page.goto(allowed.origin + "/")
    result = page.evaluate(CALLS, [cors_stack.base_url, key])
    assert result["post"] == 200 and result["items"] == [key]
    assert result["etag"], "ETag must be exposed to the page"
    assert result["again"] == 304
    assert result["ranged"] == 206 and result["bytes"] == 10
    assert result["contentRange"].startswith("bytes 0-9/")
    assert console.unexpected() == []


def test_another_origin_is_blocked(cors_stack, pages, cross_page):
    page, console = cross_page
    _, other = pages
    console.allow(r"blocked by CORS policy")
    console.allow(r"Failed to load resource: net::ERR_FAILED")
    page.goto(other.origin + "/")
    result = page.evaluate(BLOCKED, [cors_stack.base_url, a_key(cors_stack)])
    # fetch() rejects with a TypeError when CORS refuses: the page never sees an answer.
    assert result == {"post": "TypeError", "conditional": "TypeError", "simple": "TypeError"}
    assert console.unexpected() == []
