"""Rows 17 and 17b: image bytes across URL rollover, with the image service worker (web/src/sw/).

The photo album gallery (`/?prefix=demo/photos/`, 3000x2000 JPEGs of 1-1.8 MB) in real
Chromium, network emulated on the page (CDP `Network.emulateNetworkConditions`: 100 ms RTT,
5 Mbit/s). Each side is one browser context: a first visit (the worker installs and takes the
page), a second (the worker learns every URL's identity from the JSON and stores the bytes),
then the measured load:

- (a) warm reload on a node of one-day windows: no URL changed;
- (b) on a node of 10 s windows, the tab away (about:blank) until every URL it showed has
  expired, then the gallery again: every URL is new.

Counted: lookups (`POST /api/v1/urls`, `GET /api/v1/urls/<key>`) and image responses as the page
sees them (CDP, bench_browser's Traffic), and image bytes that came over the network. The
worker's answers do not show as network bytes in the page's CDP events, so those bytes are
counted where they are fetched: Playwright reports the worker's own requests
(`request.service_worker`), whose body sizes are summed for `/objects/` URLs; the page's image
responses are also tallied by CDP `serviceWorkerResponseSource` (`cache-storage` = the worker's
cache, `network`/`http-cache` = fetched by the worker). The emulation applies to the page's
target: the worker's own fetches (on the first visit only) are not throttled. The reference of
17b is what a browser without the worker would download: the same images at their new URLs,
fetched once more by the bench after the measured load.
"""

from __future__ import annotations

import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

from e2e.browser import CHROMIUM_ARGS

from . import ROOT
from .bench_browser import LOADED_IMAGES, Traffic
from .context import DB_ROLLOVER, DB_ROLLOVER_SHORT, Context
from .node import Node
from .results import Result

ROW = "17"
NAME = "Image bytes across URL rollover"
ALBUM = "/?prefix=demo/photos/"
SHORT_WINDOW = 10  # seconds, the shortest the settings allow
STEADY_WINDOW = 24 * 3600
RTT_MS, MBIT = 100, 5
SHOWN_SRCS = """() => [...document.querySelectorAll('[data-testid="smart-image"] img')]
    .filter((img) => img.complete && img.naturalWidth > 0).map((img) => img.currentSrc)"""
CACHED = """async () => (await (await caches.open('image-bytes-v1')).keys()).length"""
CONTROLLED = """async () => { await navigator.serviceWorker.ready; return !!navigator.serviceWorker.controller }"""


class WorkerFetches:
    """`/objects/` requests the service worker sent itself, with their response body bytes."""

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    def attach(self, context) -> None:
        context.on("requestfinished", self._finished)

    def _finished(self, request) -> None:
        if request.service_worker is None or not urlsplit(request.url).path.startswith("/objects/"):
            return
        self.count += 1
        # The body's length as sent (the worker reads all of it to store it); Playwright's
        # responseBodySize of a worker's request can be partial.
        response = request.response()
        length = response.headers.get("content-length", "") if response is not None else ""
        self.bytes += int(length) if length.isdigit() else max(0, request.sizes().get("responseBodySize", 0))

    def reset(self) -> None:
        self.count = self.bytes = 0


class Sources:
    """Where each of the page's image responses came from: `memory-cache` (Blink's, for a URL
    the page showed before), `disk-cache`, the worker's `cache-storage`, or what the worker
    fetched (`network`, `http-cache`: CDP serviceWorkerResponseSource); `network` without the
    worker otherwise."""

    def __init__(self, cdp) -> None:
        self.responses: dict[str, dict] = {}
        self.memory: set[str] = set()
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.requestServedFromCache", lambda e: self.memory.add(e["requestId"]))

    def _response(self, event) -> None:
        if event.get("type") == "Image" and not event["response"]["url"].startswith("data:"):
            self.responses[event["requestId"]] = event["response"]

    def tally(self) -> dict[str, int]:
        out: Counter = Counter()
        for rid, response in self.responses.items():
            if rid in self.memory:
                out["memory-cache"] += 1
            elif response.get("fromServiceWorker"):
                out[response.get("serviceWorkerResponseSource") or "worker"] += 1
            elif response.get("fromDiskCache"):
                out["disk-cache"] += 1
            else:
                out["network"] += 1
        return dict(out)


ON_SCREEN_DECODED = """() => {
    const shown = [...document.querySelectorAll('[data-testid="smart-image"]')].filter((el) => {
        const r = el.getBoundingClientRect()
        return r.width > 0 && r.bottom > 0 && r.top < innerHeight
    })
    return shown.length > 0 && shown.every((el) => {
        const img = el.querySelector('img')
        return img && img.complete && img.naturalWidth > 0
    })
}"""


def _wait_images(page, timeout: float) -> int:
    """Until every image on screen is decoded (a cold load at 5 Mbit/s takes its time)."""
    try:
        page.wait_for_function(ON_SCREEN_DECODED, timeout=timeout * 1000, polling=250)
    except Exception:
        pass  # counted as shown below: the row's `loaded` tells
    page.wait_for_timeout(500)
    return page.evaluate(LOADED_IMAGES)


def _settle_worker(page, timeout: float) -> int:
    """Until the worker's cache stops growing (it stores after answering)."""
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        count = page.evaluate(CACHED)
        if count == last:
            return count
        last = count
        page.wait_for_timeout(1000)
    return last


def _load(page, cdp, url: str | None, timeout: float, worker: WorkerFetches) -> dict:
    traffic = Traffic()
    traffic.attach(cdp)
    sources = Sources(cdp)
    worker.reset()
    if url is None:
        page.reload(wait_until="load")
    else:
        page.goto(url, wait_until="load")
    loaded = _wait_images(page, timeout)
    cached = _settle_worker(page, timeout)
    count, size = traffic.images()
    return {
        "loaded": loaded,
        "srcs": page.evaluate(SHOWN_SRCS),
        "lookups": traffic.lookups,
        "lookup_keys": traffic.lookup_keys,
        "page_network_images": count,
        "page_network_bytes": size,
        "sources": sources.tally(),
        "worker_fetches": worker.count,
        "worker_bytes": worker.bytes,
        "cached": cached,
    }


def _bytes_of(urls: list[str]) -> int:
    """What fetching `urls` costs: the bytes a browser without the worker downloads for them."""
    from .client import http_get

    return sum(len(http_get(url)[2]) for url in dict.fromkeys(urls))


def _expiry(url: str) -> int:
    values = parse_qs(urlsplit(url).query).get("exp")
    return int(values[0]) if values else 0


def _session(browser, base: str, timeout: float, expire: bool) -> tuple[dict, dict, dict]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="allow")
    worker = WorkerFetches()
    worker.attach(context)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": RTT_MS,
                "downloadThroughput": MBIT * 1e6 / 8,
                "uploadThroughput": MBIT * 1e6 / 8,
            },
        )
        cold = _load(page, cdp, base + ALBUM, timeout, worker)
        cold["shown_bytes"] = _bytes_of(cold["srcs"])
        if not page.evaluate(CONTROLLED):
            raise RuntimeError("the service worker did not take control of the page")
        primed = _load(page, cdp, None, timeout, worker)
        if expire:
            page.goto("about:blank")  # the tab is away: nothing refreshes the URLs meanwhile
            dead_at = max((_expiry(src) for src in primed["srcs"]), default=0)
            time.sleep(max(0.0, dead_at - time.time()) + 1)
            measured = _load(page, cdp, base + ALBUM, timeout, worker)
            measured["all_expired"] = all(_expiry(src) < time.time() for src in primed["srcs"])
            measured["without_worker"] = _bytes_of(measured["srcs"])  # new URLs: the HTTP cache has none
        else:
            measured = _load(page, cdp, None, timeout, worker)
    finally:
        context.close()
    return cold, primed, measured


def run(ctx: Context) -> list[Result]:
    chromium = ctx.options.tools.get("chromium")
    if not chromium:
        return [Result(ROW, NAME, skipped="Chromium not found at /usr/bin/chromium (apt-get install -y chromium)")]
    if not (ROOT / "web" / "dist" / "sw.js").exists():
        return [Result(ROW, NAME, skipped="web app not built with its service worker (web/dist/sw.js: npm run build)")]
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return [Result(ROW, NAME, skipped="Playwright for Python is not installed")]
    from api.demo_photos import generate_photos

    generate_photos(ctx.images, 48)
    timeout = ctx.pick(60, 40)
    steady = Node(
        ctx.data_dir,
        ctx.redis.url(DB_ROLLOVER),
        URL_WINDOW_SECONDS=str(STEADY_WINDOW),
        URL_MIN_REMAINING_SECONDS="3600",
    )
    short = Node(
        ctx.data_dir,
        ctx.redis.url(DB_ROLLOVER_SHORT),
        URL_WINDOW_SECONDS=str(SHORT_WINDOW),
        URL_MIN_REMAINING_SECONDS=str(SHORT_WINDOW),
    )
    with steady, short, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            warm = _session(browser, steady.base, timeout, expire=False)
            rolled = _session(browser, short.base, timeout, expire=True)
        finally:
            browser.close()
    return [_warm_row(*warm), _rollover_row(*rolled)]


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def _details(cold: dict, primed: dict, measured: dict) -> list[str]:
    return [
        f"{name}: {m['loaded']} images shown, {m['lookups']} lookups ({m['lookup_keys']} keys), page image responses "
        f"by source {m['sources']}, worker fetched {m['worker_fetches']} images ({_mb(m['worker_bytes'])}), "
        f"{m['page_network_images']} images ({_mb(m['page_network_bytes'])}) reached the page from the network "
        f"without the worker, {m['cached']} entries in the worker's cache"
        for name, m in (("first visit", cold), ("second visit (worker learns, stores)", primed), ("measured", measured))
    ]


def _network_bytes(m: dict) -> int:
    return m["worker_bytes"] + m["page_network_bytes"]


# `http-cache`: the worker passed a URL it has no identity for (an icon) and the HTTP cache had it.
CACHES = ("cache-storage", "memory-cache", "disk-cache", "http-cache")


def _served_by_cache(m: dict) -> bool:
    """Every image response the page got came from a cache, none over the network."""
    fetched = sum(n for source, n in m["sources"].items() if source not in CACHES)
    return m["loaded"] > 0 and fetched == 0 and m["worker_fetches"] == 0


def _warm_row(cold: dict, primed: dict, warm: dict) -> Result:
    row = Result(
        ROW,
        NAME + ": warm reload (photo album, Chromium, 100 ms RTT, 5 Mbit/s)",
        ours=f"{warm['lookups']} lookups, {_mb(_network_bytes(warm))} of images ({warm['loaded']} shown)",
        reference=f"first visit: {cold['lookups']} lookups, {_mb(cold['shown_bytes'])} of images shown",
        ratio=f"{_mb(_network_bytes(warm))} vs {_mb(cold['shown_bytes'])}",
        goal="0 lookups, 0 image bytes",
        met=warm["lookups"] == 0 and _network_bytes(warm) == 0 and _served_by_cache(warm),
    )
    row.details += _details(cold, primed, warm)
    row.details.append(f"one-day signing windows (URL_WINDOW_SECONDS={STEADY_WINDOW}): no URL changes in the row")
    return row


def _rollover_row(cold: dict, primed: dict, later: dict) -> Result:
    before = {urlsplit(src).path: src for src in primed["srcs"]}
    after = {urlsplit(src).path: src for src in later["srcs"]}
    renewed = sum(1 for path, src in after.items() if path in before and before[path] != src)
    row = Result(
        ROW + "b",
        NAME + ": after every shown URL expired (10 s windows)",
        ours=f"{renewed}/{len(after)} URLs new, {later['lookups']} lookups, {_mb(_network_bytes(later))} of images",
        reference=f"without the worker: {_mb(later.get('without_worker', 0))} (the same images at their new URLs)",
        ratio=f"{_mb(_network_bytes(later))} vs {_mb(later.get('without_worker', 0))}",
        goal="new URLs, 0 image bytes",
        met=later.get("all_expired", False)
        and len(after) > 0
        and renewed == len(after)
        and _network_bytes(later) == 0
        and _served_by_cache(later),
    )
    row.details += _details(cold, primed, later)
    row.details.append(
        f"URL_WINDOW_SECONDS={SHORT_WINDOW}, URL_MIN_REMAINING_SECONDS={SHORT_WINDOW}; the tab waited on about:blank "
        "until the last URL it had shown expired (all expired: "
        f"{later.get('all_expired')}), then opened the gallery again"
    )
    return row
