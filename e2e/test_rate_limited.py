"""A gallery in redirect mode against a tiny delivery budget loads every image, in real Chromium,
without a single proxy fallback.

The stack is of its own: its delivery token bucket holds 5 requests and refills 20 per second
(per worker), so a screenful of `/i/<key>` requests and the `/objects/` URLs they redirect to
meet 429s. SmartImage probes a failed `<img>` once (HEAD, same origin), waits the `Retry-After`
the 429 names with every other image of the page, and loads the same URL again: each image ends
`loaded`, nothing goes to `/p/`, and no more probes go out than images failed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page

from .console import ConsoleWatch
from .gallery import expect_loaded, expect_none_broken, on_screen_keys, open_gallery
from .metrics import METRICS
from .network import IMAGE_PREFIXES
from .processes import become_subreaper
from .stacks import Stack, own_stack

MIN_IMAGES = 30


@pytest.fixture(scope="module")
def limited_stack(tmp_path_factory, pytestconfig) -> Iterator[Stack]:
    become_subreaper()
    output = Path(pytestconfig.getoption("--output"))
    with own_stack(
        "limited",
        tmp_path_factory.mktemp("e2e-limited"),
        output,
        {"RATE_LIMIT_DELIVERY_BURST": "5", "RATE_LIMIT_DELIVERY_RATE": "20"},
    ) as stack:
        yield stack


@pytest.fixture
def tall_page(browser: Browser) -> Iterator[tuple[Page, ConsoleWatch]]:
    """A page of its own context (not the `page` fixture, which would start the session stacks),
    tall enough to show more than MIN_IMAGES cards at once."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 2400})
    page = context.new_page()
    console = ConsoleWatch()
    console.watch(page)
    yield page, console
    context.close()


def test_a_rate_limited_redirect_gallery_waits_and_loads_every_image_without_the_proxy(limited_stack, tall_page):
    page, console = tall_page
    # The browser logs every 429 it met, of an <img> or of a probe.
    console.allow(r"Failed to load resource: the server responded with a status of 429")
    responses: list[tuple[str, str, int]] = []  # method, path prefix, status
    proxy_requests: list[str] = []

    def on_response(response) -> None:
        path = urlsplit(response.url).path
        for prefix in IMAGE_PREFIXES:
            if path.startswith(prefix):
                responses.append((response.request.method, prefix, response.status))

    def on_request(request) -> None:
        if urlsplit(request.url).path.startswith("/p/"):
            proxy_requests.append(request.url)

    page.on("response", on_response)
    page.on("request", on_request)

    started = time.monotonic()
    open_gallery(page, limited_stack.base_url, "?mode=redirect")
    keys = on_screen_keys(page)
    assert len(keys) >= MIN_IMAGES, f"only {len(keys)} images on screen"
    expect_loaded(page, keys, timeout=60_000)
    seconds_to_loaded = time.monotonic() - started
    expect_none_broken(page)

    gets = Counter((prefix, status) for method, prefix, status in responses if method == "GET")
    limited_loads = sum(count for (_, status), count in gets.items() if status == 429)
    probes = sum(1 for method, prefix, _ in responses if method == "HEAD" and prefix == "/i/")
    limited_probes = sum(1 for method, _, status in responses if method == "HEAD" and status == 429)
    srcs = page.eval_on_selector_all(
        '[data-testid="gallery-grid"] [data-testid="smart-image"] img', "els => els.map((e) => e.getAttribute('src'))"
    )

    assert proxy_requests == [], f"proxy fallbacks: {proxy_requests[:5]}"
    assert limited_loads > 0, f"the budget never refused an image: {gets}"
    # The probes found the limit; one per failed <img> at most (most failures join a running one).
    assert limited_probes > 0, f"no probe met a 429: {probes} probes"
    assert probes <= limited_loads, (probes, limited_loads)
    assert all(src and src.startswith("/i/") for src in srcs), srcs[:5]
    assert console.unexpected() == []

    METRICS["rate_limited.images"] = len(keys)
    METRICS["rate_limited.image_429s"] = limited_loads
    METRICS["rate_limited.probes"] = probes
    METRICS["rate_limited.probe_429s"] = limited_probes
    METRICS["rate_limited.proxy_requests"] = len(proxy_requests)
    METRICS["rate_limited.seconds_to_all_loaded"] = round(seconds_to_loaded, 1)
    METRICS["rate_limited.retried_urls"] = sum(1 for src in srcs if "retry=" in src)
