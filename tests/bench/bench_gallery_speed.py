"""Row 18: the gallery's first screen of the photo album on a slow network, against plain `<img>`.

Chromium with the network emulated through CDP (`Network.emulateNetworkConditions`: 100 ms
RTT, 5 Mbit/s down and up), viewport 1280x900, a fresh browser context for every load (empty
HTTP cache, IndexedDB and service workers). Our side: the built web app on `/?prefix=demo/photos/`
of a node whose store holds the 48-photo album (about 3000x2000, 1-2.5 MB each). The reference:
`/bench/plain`, plain `<img src="/i/<key>">` tags for the same first keys, on the same node.
The two are loaded side by side, alternating, and the medians compared.

- first-screen bytes: encoded bytes of the image responses of the cells in the viewport once
  the first screen has loaded, against the sizes of those images' original files;
- LCP: the last `largest-contentful-paint` entry once the first screen has loaded;
- CLS: the sum of `layout-shift` entries without recent input, over the same time;
- API requests of the gallery's load (listing and resolve), which the embedded first page
  should make unnecessary.

Before timing, one untimed load of each renders the variants and warms the server's caches, so
the row measures the browser's cold start, not Pillow's first render.
"""

from __future__ import annotations

import statistics
import time
from urllib.parse import unquote, urlsplit

from e2e.browser import CHROMIUM_ARGS

from .bench_browser import LCP_SCRIPT, Traffic, browser_missing
from .context import DB_GALLERY, Context
from .node import Node
from .results import Result

ROW = "18"
NAME = "Gallery first screen, slow network"
PREFIX = "demo/photos/"
LATENCY_MS = 100
THROUGHPUT = 5_000_000 / 8  # 5 Mbit/s in bytes per second
VIEWPORT = {"width": 1280, "height": 900}
GOAL_BYTES = 0.10
GOAL_LCP = 1.0
GOAL_CLS = 0.01
FIRST_PAGE_WIDTH = 480  # the embedded first page's width (FIRST_PAGE_WIDTH's default)

CLS_SCRIPT = """
window.__cls = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cls += entry.value;
}).observe({ type: 'layout-shift', buffered: true });
"""
# Keys of the gallery cells inside the viewport, and how many of them show their picture.
FIRST_SCREEN = """() => {
  const cells = Array.from(document.querySelectorAll('[data-testid="smart-image"]')).filter((cell) => {
    const r = cell.getBoundingClientRect();
    return r.width > 0 && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
  });
  return { keys: cells.map((c) => c.dataset.key), loaded: cells.filter((c) => c.dataset.state === 'loaded').length };
}"""
# Every image in the viewport has loaded. Plain `<img>` tags without a size are 0x0 until their
# picture arrives; the first one of the originals fills the viewport and pushes the rest below.
PLAIN_LOADED = """() => Array.from(document.images).filter((img) => {
  const r = img.getBoundingClientRect();
  return r.bottom >= 0 && r.top < innerHeight;
}).every((img) => img.complete)"""


def _throttled_page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(LCP_SCRIPT + CLS_SCRIPT)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": LATENCY_MS, "downloadThroughput": THROUGHPUT, "uploadThroughput": THROUGHPUT},
    )
    traffic = Traffic()
    traffic.attach(cdp)
    return context, page, traffic


def _key_of(url: str) -> str | None:
    path = urlsplit(url).path
    for prefix in ("/objects/", "/i/", "/p/"):
        if path.startswith(prefix):
            return unquote(path[len(prefix) :])
    return None


def _bytes_by_key(traffic: Traffic) -> dict[str, int]:
    out: dict[str, int] = {}
    for rid, kind in traffic.kinds.items():
        key = _key_of(traffic.urls.get(rid, ""))
        if kind == "Image" and key is not None:
            out[key] = out.get(key, 0) + traffic.bytes.get(rid, 0)
    return out


def _gallery(browser, base: str, timeout: float) -> dict:
    context, page, traffic = _throttled_page(browser)
    try:
        page.goto(base + f"/?prefix={PREFIX}", wait_until="domcontentloaded")
        deadline = time.monotonic() + timeout
        screen = {"keys": [], "loaded": 0}
        while time.monotonic() < deadline:
            screen = page.evaluate(FIRST_SCREEN)
            if screen["keys"] and screen["loaded"] >= len(screen["keys"]):
                break
            page.wait_for_timeout(50)
        page.wait_for_timeout(500)  # a later LCP candidate or layout shift would show by now
        by_key = _bytes_by_key(traffic)
        return {
            "lcp": page.evaluate("() => window.__lcp"),
            "cls": page.evaluate("() => window.__cls"),
            "keys": screen["keys"],
            "complete": bool(screen["keys"]) and screen["loaded"] >= len(screen["keys"]),
            "bytes": sum(by_key.get(key, 0) for key in screen["keys"]),
            "api": traffic.lookups + traffic.listings,
            "api_urls": [url for url in traffic.urls.values() if "/api/v1/" in url],
            "looked_up": sorted({key for _, key in traffic.looked_up}),
        }
    finally:
        context.close()


def _plain(browser, base: str, count: int, timeout: float, width: int | None = None) -> dict:
    """`/bench/plain`: the originals (`/i/<key>`), or with `width` the same variants as the
    gallery's (`/i/<key>?w=&f=auto`), each tag as plain as it gets (no size, no script)."""
    context, page, _ = _throttled_page(browser)
    try:
        variant = f"&w={width}" if width else ""
        page.goto(base + f"/bench/plain?prefix={PREFIX}&n={count}{variant}", wait_until="domcontentloaded")
        deadline = time.monotonic() + timeout
        complete = False
        while time.monotonic() < deadline:
            if page.evaluate(PLAIN_LOADED):
                complete = True
                break
            page.wait_for_timeout(100)
        page.wait_for_timeout(300)
        return {"lcp": page.evaluate("() => window.__lcp"), "complete": complete}
    finally:
        context.close()


def run(ctx: Context) -> Result:
    missing = browser_missing(ctx)
    if missing:
        return Result(ROW, NAME, skipped=missing)
    chromium = ctx.options.tools["chromium"]
    from playwright.sync_api import sync_playwright

    from api.demo_photos import generate_photos

    data_dir = ctx.work / "gallery-speed"
    images = data_dir / "images"
    generate_photos(images)
    rounds = ctx.pick(3, 1)
    timeout = ctx.pick(120, 90)
    with Node(data_dir, ctx.redis.url(DB_GALLERY), workers=2) as node, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            warm = _gallery(browser, node.base, timeout)  # renders the first screen's variants
            count = len(warm["keys"])
            _plain(browser, node.base, count, timeout)
            _plain(browser, node.base, count, timeout, FIRST_PAGE_WIDTH)
            runs: dict[str, list[dict]] = {"ours": [], "plain": [], "variants": []}
            steps = {
                "ours": lambda: _gallery(browser, node.base, timeout),
                "plain": lambda: _plain(browser, node.base, count, timeout),
                "variants": lambda: _plain(browser, node.base, count, timeout, FIRST_PAGE_WIDTH),
            }
            for index in range(rounds):
                for name in list(steps) if index % 2 == 0 else list(steps)[::-1]:
                    runs[name].append(steps[name]())
            ours, plain, variants = runs["ours"], runs["plain"], runs["variants"]
        finally:
            browser.close()

    originals = {key: (images / key).stat().st_size for run in ours for key in run["keys"]}
    ratios = [run["bytes"] / max(1, sum(originals[k] for k in run["keys"])) for run in ours]
    ours_lcp = statistics.median(run["lcp"] for run in ours)
    plain_lcp = statistics.median(run["lcp"] for run in plain)
    variants_lcp = statistics.median(run["lcp"] for run in variants)
    lcp_ratio = ours_lcp / plain_lcp if plain_lcp else float("inf")
    worst_cls = max(run["cls"] for run in ours)
    worst_bytes = max(ratios)
    api_requests = max(run["api"] for run in ours)
    complete = all(run["complete"] for run in ours + plain + variants)
    first = ours[0]
    result = Result(
        ROW,
        NAME + f" ({count} images, {LATENCY_MS} ms RTT, 5 Mbit/s, Chromium)",
        ours=f"LCP {ours_lcp:.0f} ms; first screen {first['bytes'] / 1e3:.0f} KB; CLS {worst_cls:.4f}; "
        f"{api_requests} API requests",
        reference=f"plain <img src=/i/<key>>: LCP {plain_lcp:.0f} ms; originals "
        f"{sum(originals[k] for k in first['keys']) / 1e6:.1f} MB",
        ratio=f"LCP {lcp_ratio:.2f}x; bytes {worst_bytes:.3f}x of the originals",
        goal=f"bytes <= {GOAL_BYTES:.2f}x, LCP <= {GOAL_LCP:.1f}x, CLS <= {GOAL_CLS}",
        met=complete and worst_bytes <= GOAL_BYTES and lcp_ratio <= GOAL_LCP and worst_cls <= GOAL_CLS,
    )

    def listed(values, spec: str) -> str:
        return ", ".join(format(value, spec) for value in values)

    result.details += [
        f"LCP per load (ms): gallery {listed((r['lcp'] for r in ours), '.0f')}; "
        f"plain {listed((r['lcp'] for r in plain), '.0f')}; plain of the same variants "
        f"{listed((r['lcp'] for r in variants), '.0f')}",
        f"for scale, not a goal: a plain page of `<img src=/i/<key>?w={FIRST_PAGE_WIDTH}&f=auto>` tags (the bytes "
        f"the gallery loads, with no app at all) has LCP {variants_lcp:.0f} ms: the gallery is "
        f"{ours_lcp / variants_lcp if variants_lcp else float('inf'):.2f}x that (its bundle, then its first render)",
        f"first-screen bytes per load: {listed(ratios, '.3f')} of the originals; "
        f"CLS per load: {listed((r['cls'] for r in ours), '.4f')}",
        f"gallery API requests per load (listing + resolve): {listed((r['api'] for r in ours), 'd')} "
        "(the first page and its URLs come embedded in index.html)",
        f"{rounds} load(s) of each, alternating, each in a fresh browser context; one untimed load of each "
        "before, so the variants exist; the same node (2 workers), local storage, over 127.0.0.1",
    ]
    asked = sorted({url for run in ours for url in run["api_urls"]})
    if asked:
        keys = sorted({key for run in ours for key in run["looked_up"]})
        result.details.append(f"API requests the gallery made: {', '.join(asked)}; keys looked up: {keys}")
    if not complete:
        result.details.append("some loads did not finish their first screen within the time limit")
    return result
