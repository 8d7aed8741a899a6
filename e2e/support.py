"""What the journeys observe: URL lookups, image traffic, image health, LCP, measured numbers."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from playwright.sync_api import Page, expect

#: Numbers the journeys measure; printed at the end of the run and written to metrics.json.
METRICS: dict[str, object] = {}

LOOKUP_PATH = "/api/v1/urls"
IMAGE_PREFIXES = ("/objects/", "/p/", "/i/")
SMART_IMAGE = '[data-testid="gallery-grid"] [data-testid="smart-image"]'


@dataclass
class Lookup:
    """One `POST /api/v1/urls` the page sent."""

    keys: list[str]
    refresh: bool
    at: float


@dataclass
class ImageResponse:
    status: int
    url: str
    path: str
    at: float

    @property
    def key(self) -> str:
        for prefix in IMAGE_PREFIXES:
            if self.path.startswith(prefix):
                return unquote(self.path[len(prefix) :])
        return ""

    @property
    def kind(self) -> str:
        return {"/objects/": "signed", "/p/": "proxy", "/i/": "redirect"}[self.path[: self.path.index("/", 1) + 1]]


@dataclass
class Network:
    """URL lookups and image responses of one page, as the browser made them."""

    lookups: list[Lookup] = field(default_factory=list)
    images: list[ImageResponse] = field(default_factory=list)
    last_activity: float = field(default_factory=time.monotonic)

    @classmethod
    def watch(cls, page: Page) -> Network:
        network = cls()
        page.on("request", network._on_request)
        page.on("response", network._on_response)
        return network

    def _on_request(self, request) -> None:
        self.last_activity = time.monotonic()
        if request.method == "POST" and urlsplit(request.url).path == LOOKUP_PATH:
            body = request.post_data_json or {}
            self.lookups.append(Lookup(list(body.get("keys", [])), bool(body.get("refresh")), time.time()))

    def _on_response(self, response) -> None:
        self.last_activity = time.monotonic()
        path = urlsplit(response.url).path
        if path.startswith(IMAGE_PREFIXES):
            self.images.append(ImageResponse(response.status, response.url, path, time.time()))

    def clear(self) -> None:
        self.lookups.clear()
        self.images.clear()

    def looked_up_keys(self) -> set[str]:
        return {key for lookup in self.lookups for key in lookup.keys}

    def settle(self, page: Page, quiet: float = 1.0, timeout: float = 15.0) -> None:
        """Wait until the page made no request for `quiet` seconds (bounded by `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() - self.last_activity < quiet:
            assert time.monotonic() < deadline, f"the page kept making requests for {timeout}s"
            page.wait_for_timeout(100)


def max_batches(n: int, batch: int = 100) -> int:
    return max(1, math.ceil(n / batch))


def url_expiry(url: str) -> int | None:
    """The `exp` of a local signed URL (`/objects/<key>?exp=..&sig=..`)."""
    values = parse_qs(urlsplit(url).query).get("exp")
    return int(values[0]) if values else None


# ---- the page ---------------------------------------------------------------------------------


def smart_image(page: Page, key: str):
    return page.locator(f'[data-testid="smart-image"][data-key="{key}"]')


def open_gallery(page: Page, base_url: str, query: str = "") -> None:
    page.goto(f"{base_url}/{query}")
    expect(page.get_by_test_id("image-card").first).to_be_visible()


def on_screen_keys(page: Page) -> list[str]:
    """Keys of the gallery's SmartImages that intersect the viewport now."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].filter((el) => {
            const r = el.getBoundingClientRect()
            return r.width > 0 && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth
        }).map((el) => el.dataset.key)""",
        SMART_IMAGE,
    )


def image_report(page: Page, keys: list[str]) -> dict[str, dict]:
    """State, src and decode result of each key's SmartImage."""
    return page.evaluate(
        """(keys) => Object.fromEntries(keys.map((key) => {
            const root = document.querySelector(`[data-testid="smart-image"][data-key="${CSS.escape(key)}"]`)
            const img = root?.querySelector('img')
            return [key, {
                state: root?.dataset.state ?? null,
                src: img?.currentSrc || img?.getAttribute('src') || null,
                complete: img ? img.complete : null,
                naturalWidth: img ? img.naturalWidth : 0,
            }]
        }))""",
        keys,
    )


def expect_loaded(page: Page, keys: list[str], timeout: float = 15_000) -> dict[str, dict]:
    """Every key's SmartImage reaches `loaded` and its picture decoded (naturalWidth > 0)."""
    for key in keys:
        expect(smart_image(page, key)).to_have_attribute("data-state", "loaded", timeout=timeout)
    report = image_report(page, keys)
    broken = {k: r for k, r in report.items() if not (r["complete"] and r["naturalWidth"] > 0)}
    assert broken == {}, f"images not decoded: {broken}"
    return report


def expect_none_broken(page: Page) -> None:
    """No SmartImage in the error state and no <img> the browser gave up on."""
    expect(page.locator('[data-testid="smart-image"][data-state="error"]')).to_have_count(0)
    broken = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="smart-image"] img')]
            .filter((img) => img.complete && img.naturalWidth === 0 && img.getAttribute('src'))
            .map((img) => img.closest('[data-testid="smart-image"]').dataset.key)"""
    )
    assert broken == [], f"broken images: {broken}"


# ---- Largest Contentful Paint --------------------------------------------------------------------

LCP_INIT_SCRIPT = """
window.__lcp = [];
window.__lcpObservedAt = 0;
try {
  new PerformanceObserver((list) => {
    window.__lcpObservedAt = performance.now();
    for (const entry of list.getEntries()) {
      window.__lcp.push({
        startTime: entry.startTime,
        size: entry.size,
        url: entry.url,
        element: entry.element ? (entry.element.dataset?.testid || entry.element.tagName.toLowerCase()) : null,
      });
    }
  }).observe({ type: 'largest-contentful-paint', buffered: true });
} catch (error) { /* not supported: no LCP figure */ }
"""


def record_lcp(page: Page) -> None:
    page.add_init_script(LCP_INIT_SCRIPT)


def read_lcp(page: Page, quiet_ms: int = 1000) -> dict:
    """The page's LCP: the last candidate once none came for `quiet_ms` (images fade in, so the
    picture's candidate comes a little after its load event). Read it before any user input,
    which ends LCP."""
    page.wait_for_function(
        "(quiet) => window.__lcp.length > 0 && performance.now() - window.__lcpObservedAt > quiet",
        arg=quiet_ms,
        timeout=15_000,
        polling=100,
    )
    return page.evaluate("() => window.__lcp[window.__lcp.length - 1]")


def timing_breakdown(page: Page) -> dict[str, int]:
    """Milliseconds from navigation start: listing answered, first lookup sent and answered (if
    any), first image requested and last image received."""
    return page.evaluate(
        """() => {
            const all = performance.getEntriesByType('resource')
            const path = (e) => new URL(e.name).pathname
            const listing = all.find((e) => path(e) === '/api/v1/images')
            const lookup = all.find((e) => path(e) === '/api/v1/urls')
            const images = all.filter((e) => path(e).startsWith('/objects/'))
            const out = {
                listing_done_ms: listing ? Math.round(listing.responseEnd) : null,
                first_image_requested_ms: Math.round(Math.min(...images.map((e) => e.startTime))),
                last_image_done_ms: Math.round(Math.max(...images.map((e) => e.responseEnd))),
            }
            if (lookup) {
                out.first_lookup_sent_ms = Math.round(lookup.startTime)
                out.first_lookup_done_ms = Math.round(lookup.responseEnd)
            }
            return out
        }"""
    )
