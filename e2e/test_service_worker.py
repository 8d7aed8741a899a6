"""The image service worker keeps image bytes across URL rollovers, on a stack of 10 s signing
windows (URL_WINDOW_SECONDS=10), on the photo album (about 1 MB an image):

- after every shown URL has rolled over, a reload shows new URLs and fetches 0 image bytes;
- an object that changed (new etag) is fetched again, and only that one;
- SERVICE_WORKER=false: the next page load unregisters it and deletes its caches.

Image bytes fetched over the network are counted in the server's access log (`GET /objects/`
lines): what the worker answers from its cache never reaches the server, and the worker's
own fetches do.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from .console import ConsoleWatch
from .gallery import expect_loaded, image_report, on_screen_keys, open_gallery
from .metrics import METRICS
from .processes import become_subreaper
from .stacks import Stack, keep_log, launch, stop, wait_ready

WINDOW = 10  # seconds: the shortest window the settings allow
ALBUM = "?prefix=demo/photos/"
SETTINGS = {
    "URL_WINDOW_SECONDS": str(WINDOW),
    "URL_MIN_REMAINING_SECONDS": str(WINDOW),
    "L1_TTL_SECONDS": "1",  # a refreshed etag reaches the other gunicorn worker within a second
}
CACHED_COUNT = """async () => (await (await caches.open('image-bytes-v1')).keys()).length"""
CACHED_URLS = """async () => (await (await caches.open('image-bytes-v1')).keys()).map((r) => r.url)"""
CONTROLLED = """async () => { await navigator.serviceWorker.ready; return !!navigator.serviceWorker.controller }"""
ALL_DECODED = """(keys) => keys.every((key) => {
    const root = document.querySelector(`[data-testid="smart-image"][data-key="${CSS.escape(key)}"]`)
    const img = root?.querySelector('img')
    return root?.dataset.state === 'loaded' && img && img.complete && img.naturalWidth > 0
})"""
OBJECT_LINE = re.compile(r'"GET (/objects/[^? ]+)\S* HTTP/[\d.]+" (\d+) (\d+|-)')


class StackHolder:
    """The module's stack; the last journey replaces it by one with other settings on the same
    port (a service worker belongs to its origin)."""

    def __init__(self, stack: Stack, output: Path) -> None:
        self.stack = stack
        self.output = output

    def relaunch(self, name: str, extra_env: dict[str, str]) -> Stack:
        port = urlsplit(self.stack.base_url).port
        stop(self.stack)
        keep_log(self.stack, self.output)
        fresh = launch(
            name, self.stack.data_dir, WINDOW, WINDOW, extra_env={**SETTINGS, **extra_env, "PORT": str(port)}
        )
        self.stack = dataclasses.replace(fresh, base_url=self.stack.base_url)
        wait_ready(self.stack)
        return self.stack


@pytest.fixture(scope="module")
def holder(tmp_path_factory, pytestconfig) -> Iterator[StackHolder]:
    become_subreaper()
    output = Path(pytestconfig.getoption("--output"))
    stack = launch("sw", tmp_path_factory.mktemp("e2e-sw"), WINDOW, WINDOW, extra_env=SETTINGS)
    held = StackHolder(stack, output)
    try:
        wait_ready(stack)
        yield held
    finally:
        stop(held.stack)
        keep_log(held.stack, output)


@pytest.fixture
def sw_page(browser: Browser) -> Iterator[Page]:
    """A page of its own context, service workers allowed (not the `page` fixture, which would
    start the session stacks); fails the test on a console error."""
    context = browser.new_context(service_workers="allow", viewport={"width": 1280, "height": 720}, locale="en-US")
    page = context.new_page()
    console = ConsoleWatch()
    console.watch(page)
    yield page
    context.close()
    assert console.unexpected() == [], "\n".join(console.unexpected())


def network_images(stack: Stack, since: int) -> list[tuple[str, int]]:
    """(path, bytes) of the `/objects/` responses the server sent after its first `since` ones."""
    lines = stack.access_log(r'"GET /objects/')[since:]
    found = [OBJECT_LINE.search(line) for line in lines]
    return [(m.group(1), int(m.group(3)) if m.group(3).isdigit() else 0) for m in found if m]


def object_lines(stack: Stack) -> int:
    return len(stack.access_log(r'"GET /objects/'))


def shown(page: Page) -> dict[str, str]:
    """Key -> image URL of the SmartImages on screen, once each is loaded and decoded. With
    10 s windows some key's URL is being swapped at almost any moment: waited for until every
    one is decoded at once."""
    expect(page.get_by_test_id("image-card").first).to_be_visible()
    keys = on_screen_keys(page)
    expect_loaded(page, keys[:1])
    page.wait_for_function(ALL_DECODED, arg=keys, timeout=15_000)
    return {key: report["src"] for key, report in image_report(page, keys).items()}


def settle(page: Page, stack: Stack, quiet_ms: int = 1500) -> None:
    """Until the server saw no image request and the worker stored nothing new for `quiet_ms`."""
    before = (-1, -1)
    for _ in range(40):
        now = (object_lines(stack), page.evaluate(CACHED_COUNT))
        if now == before:
            return
        before = now
        page.wait_for_timeout(quiet_ms)
    raise AssertionError("the page kept loading images")


def warm(page: Page, stack: Stack) -> dict[str, str]:
    """First visit (the worker installs and takes the page), then a reload it serves: its JSON
    teaches the worker every URL's identity and the bytes go into its cache."""
    open_gallery(page, stack.base_url, ALBUM)
    assert page.evaluate(CONTROLLED), "the service worker did not take control of the page"
    page.reload()
    urls = shown(page)
    settle(page, stack)
    assert page.evaluate(CACHED_COUNT) >= len(urls)
    return urls


def wait_for_rollover(page: Page) -> None:
    """Every URL handed out so far has rolled over (each key's window is WINDOW seconds)."""
    page.wait_for_timeout((WINDOW + 1) * 1000)


def test_after_url_rollover_a_reload_gets_new_urls_and_no_image_bytes(holder, sw_page):
    stack = holder.stack
    before = warm(sw_page, stack)
    mark = object_lines(stack)
    wait_for_rollover(sw_page)  # meanwhile the open tab swaps in new URLs as each rolls over
    sw_page.reload()
    after = shown(sw_page)
    settle(sw_page, stack)

    assert set(after) == set(before) and len(after) >= 8
    assert all(after[key] != before[key] for key in after), "every shown URL was signed anew"
    fetched = network_images(stack, mark)
    assert fetched == [], f"{len(fetched)} images, {sum(b for _, b in fetched)} bytes over the network"
    METRICS["service_worker.rollover.shown_images"] = len(after)
    METRICS["service_worker.rollover.network_image_bytes"] = sum(b for _, b in fetched)


def _replace_with_wide_picture(path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (600, 200), (200, 30, 30)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())


def test_a_changed_object_is_fetched_again_and_only_it(holder, sw_page):
    stack = holder.stack
    before = warm(sw_page, stack)
    changed = sorted(before)[0]
    status, old = stack.api("GET", f"/api/v1/urls/{quote(changed)}")
    assert status == 200, old
    _replace_with_wide_picture(stack.images_dir / changed)
    status, body = stack.api("POST", "/api/v1/urls", {"keys": [changed], "refresh": True})
    assert status == 200 and body["items"][0]["etag"] != old["etag"], body
    mark = object_lines(stack)
    wait_for_rollover(sw_page)  # the open tab may load the new version when its URL rolls over
    sw_page.reload()
    shown(sw_page)
    settle(sw_page, stack)

    fetched = network_images(stack, mark)
    assert {path for path, _ in fetched} == {f"/objects/{quote(changed)}"}, fetched
    size = sw_page.evaluate(
        """(key) => { const img = document.querySelector(`[data-key="${CSS.escape(key)}"] img`)
            return [img.naturalWidth, img.naturalHeight] }""",
        changed,
    )
    assert abs(size[0] / size[1] - 3) < 0.05, f"the new picture (3:1) is shown, got {size}"
    # The old version's bytes are gone from the worker's cache, the new one's are in it.
    etags = [url.rsplit("/", 2)[-2] for url in sw_page.evaluate(CACHED_URLS) if f"/{quote(changed, safe='')}/" in url]
    assert etags == [quote(body["items"][0]["etag"], safe="")], etags


def test_turned_off_the_next_page_load_unregisters_it_and_deletes_its_caches(holder, sw_page):
    warm(sw_page, holder.stack)
    sw_page.goto("about:blank")  # no tab of the origin open while its server restarts
    stack = holder.relaunch("sw-off", {"SERVICE_WORKER": "false"})

    open_gallery(sw_page, stack.base_url, ALBUM)  # under the worker still: it says to remove it
    sw_page.wait_for_function(
        """async () => (await navigator.serviceWorker.getRegistrations()).length === 0
            && !(await caches.keys()).some((name) => name.startsWith('image-bytes-'))"""
    )
    sw_page.reload()  # a page loaded after the unregistration is not controlled
    shown(sw_page)
    assert sw_page.evaluate("() => navigator.serviceWorker.controller") is None
    # The database goes once the worker lets go of it, and is not created again.
    sw_page.wait_for_function("async () => !(await indexedDB.databases()).some((d) => d.name === 'image-bytes')")
    sw_page.wait_for_timeout(1000)
    assert sw_page.evaluate("async () => (await indexedDB.databases()).map((d) => d.name)").count("image-bytes") == 0
    status, _ = stack.api("GET", "/sw.js")
    assert status == 404
