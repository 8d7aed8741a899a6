"""Row 8: the gallery in real Chromium, cold and warm, against plain `<img>` tags signed afresh.

Our side: the built web app (`web/dist`) served by the shared API node, gallery of the 200 demo
images (`/?prefix=demo/`), scrolled to the end so every lazy image loads. Cold = a new browser
context (empty HTTP cache and IndexedDB); warm = `page.reload()` in the same context. The
reference: `/bench/baseline`, 200 plain `<img>` tags whose URLs are signed on each page load
(the naive design), loaded cold and reloaded the same way.

Counted from Chromium's own network events (CDP): URL lookups (`POST /api/v1/urls` requests and
the keys they carry), image responses that came over the network and their encoded bytes, and
LCP from a PerformanceObserver, read before any scrolling.
"""

from __future__ import annotations

import json
import time

from e2e.browser import CHROMIUM_ARGS

from . import ROOT
from .context import Context
from .results import Result

ROW = "8"
NAME = "Browser gallery"
IMAGES = 200
REFRESH_LEAD = 0  # useSmartImage's default refreshLead, in seconds: it re-resolves at refresh_at


def node_settings() -> tuple[int, int]:
    from api.settings import Settings

    s = Settings.from_env({})
    return s.url_window_seconds, s.url_min_remaining_seconds


LCP_SCRIPT = """
window.__lcp = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__lcp = entry.startTime;
}).observe({ type: 'largest-contentful-paint', buffered: true });
"""
LOADED_IMAGES = """() => Array.from(document.images).filter((img) => img.complete && img.naturalWidth > 0
    && !img.src.startsWith('data:')).length"""


class Traffic:
    """What one page load fetched, from CDP Network events."""

    def __init__(self) -> None:
        self.kinds: dict[str, str] = {}
        self.urls: dict[str, str] = {}
        self.cached: set[str] = set()
        self.bytes: dict[str, int] = {}
        self.lookup_keys = 0
        self.lookups = 0
        self.looked_up: list[tuple[float, str]] = []  # (wall time, key)
        self.listings = 0

    def attach(self, cdp) -> None:
        cdp.on("Network.requestWillBeSent", self._request)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.requestServedFromCache", lambda e: self.cached.add(e["requestId"]))
        cdp.on(
            "Network.loadingFinished",
            lambda e: self.bytes.__setitem__(e["requestId"], int(e.get("encodedDataLength", 0))),
        )

    def _request(self, event) -> None:
        request = event["request"]
        url = request["url"]
        self.urls[event["requestId"]] = url
        if event.get("type"):
            self.kinds[event["requestId"]] = event["type"]
        if request["method"] == "POST" and "/api/v1/urls" in url:
            self.lookups += 1
            try:
                keys = json.loads(request.get("postData") or "{}").get("keys", [])
            except ValueError:
                keys = []
            self.lookup_keys += len(keys)
            self.looked_up += [(time.time(), k) for k in keys]
        elif "/api/v1/urls/" in url:
            self.lookups += 1
            self.lookup_keys += 1
        elif "/api/v1/images" in url:
            self.listings += 1

    def _response(self, event) -> None:
        self.kinds[event["requestId"]] = event.get("type", self.kinds.get(event["requestId"], ""))
        response = event["response"]
        if response.get("fromDiskCache") or response.get("fromPrefetchCache") or response.get("fromServiceWorker"):
            self.cached.add(event["requestId"])

    def image_urls(self) -> list[str]:
        return [
            self.urls.get(rid, "")
            for rid, kind in self.kinds.items()
            if kind == "Image" and rid not in self.cached and not self.urls.get(rid, "").startswith("data:")
        ]

    def images(self) -> tuple[int, int]:
        """(image responses from the network, their encoded bytes)."""
        ids = [
            rid
            for rid, kind in self.kinds.items()
            if kind == "Image" and rid not in self.cached and not self.urls.get(rid, "").startswith("data:")
        ]
        return len(ids), sum(self.bytes.get(rid, 0) for rid in ids)


def _scroll_until_loaded(page, want: int, deadline: float) -> int:
    loaded = 0
    while time.monotonic() < deadline:
        loaded = page.evaluate(LOADED_IMAGES)
        at_bottom = page.evaluate("() => window.innerHeight + window.scrollY >= document.body.scrollHeight - 2")
        if loaded >= want and at_bottom:
            break
        page.evaluate("() => window.scrollBy(0, window.innerHeight * 0.9)")
        page.wait_for_timeout(120)
    page.wait_for_timeout(300)
    return page.evaluate(LOADED_IMAGES)


def _visit(page, cdp, url: str | None, reload: bool, timeout: float) -> dict:
    traffic = Traffic()
    traffic.attach(cdp)
    if reload:
        page.reload(wait_until="load")
    else:
        page.goto(url, wait_until="load")
    try:
        page.wait_for_load_state("networkidle", timeout=5000)
    except Exception:
        pass
    page.wait_for_timeout(300)
    lcp = page.evaluate("() => window.__lcp")
    loaded = _scroll_until_loaded(page, IMAGES, time.monotonic() + timeout)
    try:
        page.wait_for_load_state("networkidle", timeout=5000)
    except Exception:
        pass
    count, size = traffic.images()
    return {
        "looked_up": traffic.looked_up,
        "image_urls": traffic.image_urls(),
        "at": time.time(),
        "lcp": lcp,
        "loaded": loaded,
        "images": count,
        "bytes": size,
        "lookups": traffic.lookups,
        "lookup_keys": traffic.lookup_keys,
        "listings": traffic.listings,
    }


def _session(browser, url: str, timeout: float) -> tuple[dict, dict]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(LCP_SCRIPT)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cold = _visit(page, cdp, url, False, timeout)
        time.sleep(1.1)  # the baseline signs with second resolution: a reload gets new URLs
        cdp.detach()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        warm = _visit(page, cdp, None, True, timeout)
        cdp.detach()
    finally:
        context.close()
    return cold, warm


def browser_missing(ctx: Context) -> str | None:
    """Why a browser row cannot run here (no Chromium, no built app, no Playwright), or None."""
    if not ctx.options.tools.get("chromium"):
        return "Chromium not found at /usr/bin/chromium (apt-get install -y chromium)"
    if not (ROOT / "web" / "dist" / "index.html").exists():
        return "web app not built (web/dist missing: npm run build)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed"
    return None


def run(ctx: Context) -> Result:
    missing = browser_missing(ctx)
    if missing:
        return Result(ROW, NAME, skipped=missing)
    chromium = ctx.options.tools["chromium"]
    from playwright.sync_api import sync_playwright

    node = ctx.node()
    timeout = ctx.pick(60, 40)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            ours_cold, ours_warm = _session(browser, node.base + "/?prefix=demo/", timeout)
            base_cold, base_warm = _session(browser, node.base + f"/bench/baseline?prefix=demo/&n={IMAGES}", timeout)
        finally:
            browser.close()

    def mb(n: int) -> str:
        return f"{n / 1e6:.2f} MB"

    def near_rollover(looked_up, since: float) -> tuple[int, int]:
        """(lookups of keys within the web app's early-refresh lead (REFRESH_LEAD) of their window's rollover,
        lookups of keys whose window rolled over since `since`): neither is a cache miss."""
        from api.windows import window_for

        settings = node_settings()
        lead = rolled = 0
        for at, key in looked_up:
            if window_for(key, since, *settings).start != window_for(key, at, *settings).start:
                rolled += 1
            elif window_for(key, at, *settings).end - at <= REFRESH_LEAD + 5:
                lead += 1
        return lead, rolled

    def rolled_over(urls, since: float, until: float) -> int:
        """Network image loads of keys whose signing window rolled over between two page loads:
        a new URL by design (once per window per key), so the browser cache cannot have it."""
        from urllib.parse import unquote, urlsplit

        from api.windows import window_for

        settings = node_settings()
        count = 0
        for url in urls:
            path = urlsplit(url).path
            if not path.startswith("/objects/"):
                continue
            key = unquote(path[len("/objects/") :])
            if window_for(key, since, *settings).start != window_for(key, until, *settings).start:
                count += 1
        return count

    warm_early, warm_rolled_lookups = near_rollover(ours_warm["looked_up"], ours_cold["at"] - 60)
    warm_rolled = rolled_over(ours_warm["image_urls"], ours_cold["at"] - 60, ours_warm["at"])
    cold_repeat = ours_cold["lookup_keys"] - len({k for _, k in ours_cold["looked_up"]})
    complete = all(v["loaded"] >= IMAGES for v in (ours_cold, ours_warm, base_cold, base_warm))
    # A key whose window rolls over between the two loads gets a new URL by design (about one
    # every 18 s with 200 keys): its lookup and its image load are not misses.
    met = (
        complete
        and ours_warm["images"] == warm_rolled
        and ours_warm["lookup_keys"] == warm_rolled_lookups + warm_early
        and base_warm["bytes"] >= 0.95 * base_cold["bytes"] > 0
    )
    result = Result(
        ROW,
        NAME + f" ({IMAGES} images, Chromium)",
        ours=f"cold: {ours_cold['lookups']} lookups ({ours_cold['lookup_keys']} keys), {mb(ours_cold['bytes'])}, "
        f"LCP {ours_cold['lcp']:.0f} ms; warm: {ours_warm['lookups']} lookups, {mb(ours_warm['bytes'])} "
        f"({ours_warm['images']} image requests), LCP {ours_warm['lcp']:.0f} ms",
        reference=f"plain <img>: cold {mb(base_cold['bytes'])}, LCP {base_cold['lcp']:.0f} ms; "
        f"reload {mb(base_warm['bytes'])} ({base_warm['images']} image requests), LCP {base_warm['lcp']:.0f} ms",
        ratio=f"warm reload: {mb(ours_warm['bytes'])} vs {mb(base_warm['bytes'])}",
        goal="warm: 0 image bytes, 0 lookups (but keys that rolled over); baseline re-downloads all",
        met=met,
    )
    result.details += [
        f"images loaded (cold/warm): ours {ours_cold['loaded']}/{ours_warm['loaded']}, baseline "
        f"{base_cold['loaded']}/{base_warm['loaded']}; listing requests ours {ours_cold['listings']}/{ours_warm['listings']}",
        f"network image responses (cold/warm): ours {ours_cold['images']}/{ours_warm['images']}, "
        f"baseline {base_cold['images']}/{base_warm['images']}",
        f"warm lookups: {ours_warm['lookup_keys']} keys, of which {warm_rolled_lookups} had their signing window roll "
        f"over during the test (the cached entry's refresh_at passed: a new URL is due) and {warm_early} were within the "
        f"web app's {REFRESH_LEAD} s early-refresh lead of the rollover (useSmartImage re-resolves a visible image that "
        "close to refresh_at, and the server answers the same URL until the rollover); cold: "
        f"{cold_repeat} key lookups repeated",
        f"warm image loads over the network: {ours_warm['images']}, of which {warm_rolled} were keys whose signing "
        "window rolled over during the test (a new URL by design, once per hour per key: with 200 keys about one "
        "every 18 s)",
        "LCP: the gallery is a client-rendered app (bundle, then listing, then one batch lookup, then the image); "
        "the baseline is server-rendered HTML",
        "viewport 1280x900, scrolled to the end so every lazy image loads; LCP read before scrolling; "
        "same API node (2 workers), local storage, served over 127.0.0.1",
    ]
    return result
