"""Gallery journeys on a stack with one-day signing windows, so no URL rolls over mid-test.

- Cold: the first screen's images all load with URLs that came embedded in index.html (no
  listing, no lookup), and scrolling loads the next page of the listing, whose URLs come with
  it; lookups, if any, go in batches.
- Warm reload: IndexedDB answers every lookup and the browser cache every image.
"""

from __future__ import annotations

import time

from playwright.sync_api import expect

from .gallery import expect_loaded, expect_none_broken, on_screen_keys, open_gallery
from .metrics import METRICS
from .network import Network, WireLog, image_key, max_batches
from .timing import read_lcp, record_lcp, timing_breakdown

PAGE_SIZE = 60  # ImageGrid's listing page


def test_first_screen_loads_with_batched_lookups_and_scrolling_loads_the_next_page(page, steady_stack):
    record_lcp(page)
    network = Network.watch(page)
    listings: list[str] = []
    page.on("request", lambda r: listings.append(r.url) if "/api/v1/images" in r.url else None)
    open_gallery(page, steady_stack.base_url)
    first_screen = on_screen_keys(page)
    assert len(first_screen) >= 8, f"a 1280x720 screen shows more than {len(first_screen)} images"

    expect_loaded(page, first_screen)
    expect_none_broken(page)
    lcp = read_lcp(page)  # before any scrolling: user input ends LCP
    network.settle(page)

    # index.html carried the first page and its URLs: the first screen asked the API nothing.
    looked_up = network.looked_up_keys()
    assert not set(first_screen) & looked_up and listings == []
    sizes = [len(lookup.keys) for lookup in network.lookups]
    assert all(size <= 100 for size in sizes), sizes
    assert len(network.lookups) <= max_batches(len(looked_up)), (
        f"{len(looked_up)} keys went out in {len(network.lookups)} requests of {sizes}"
    )
    assert not any(lookup.refresh for lookup in network.lookups)
    signed = [r for r in network.images if r.kind == "signed"]
    assert {r.key for r in signed} >= set(first_screen) and all(r.status == 200 for r in signed)
    METRICS["gallery.first_screen_images"] = len(first_screen)
    METRICS["gallery.cold.keys_looked_up"] = len(looked_up)
    METRICS["gallery.cold.lookup_requests"] = len(network.lookups)
    METRICS["gallery.cold.image_bytes"] = page.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter((e) => new URL(e.name).pathname.startsWith('/objects/'))
            .reduce((sum, e) => sum + e.transferSize, 0)"""
    )
    METRICS["gallery.cold.lcp_ms"] = round(lcp["startTime"])
    METRICS["gallery.cold.lcp_element"] = lcp["element"] or lcp["url"]
    # Where the time to LCP goes: listing, first lookup, first and last image.
    METRICS.update({f"gallery.cold.{name}": value for name, value in timing_breakdown(page).items()})

    # Scrolling to the end of the first page reads the next one, and its images load too.
    cards = page.get_by_test_id("image-card")
    expect(cards).to_have_count(PAGE_SIZE)
    with page.expect_response(lambda r: "/api/v1/images" in r.url and "cursor=" in r.url) as listing:
        cards.nth(PAGE_SIZE - 1).scroll_into_view_if_needed()
    assert listing.value.status == 200
    assert "width=" in listing.value.url  # the next page brings its URLs along
    expect(cards).to_have_count(2 * PAGE_SIZE)
    cards.nth(PAGE_SIZE + 6).scroll_into_view_if_needed()
    next_screen = [k for k in on_screen_keys(page) if k not in first_screen]
    assert next_screen, "the second page's images are on screen"
    expect_loaded(page, next_screen)
    expect_none_broken(page)


def test_warm_reload_needs_no_lookup_and_no_image_bytes(page, steady_stack):
    record_lcp(page)  # the init script runs again on the reload
    network = Network.watch(page)
    open_gallery(page, steady_stack.base_url)
    first_screen = on_screen_keys(page)
    cold = expect_loaded(page, first_screen)
    network.settle(page)
    resolved = _resolved_urls(page)
    assert set(first_screen) <= set(resolved)

    # Three witnesses that no image byte crosses the wire again: the browser's network stack
    # (CDP: every image answered from its disk or memory cache, 0 encoded bytes received), the
    # page (Resource Timing: transferSize 0 means "from a local cache"; a 304 revalidation would
    # count its headers) and the server (no new /objects/ line in its access log).
    wire = WireLog(page)
    served_before = len(steady_stack.access_log(r'"GET /objects/'))
    network.clear()
    reloaded_at = time.time()

    page.reload()
    expect(page.get_by_test_id("image-card").first).to_be_visible()
    warm = expect_loaded(page, first_screen)
    expect_none_broken(page)
    warm_lcp = read_lcp(page)
    network.settle(page)

    # A key whose URL rolled over in between must be looked up again (IndexedDB serves an entry
    # only before its refresh_at); with one-day windows that is almost never any of them.
    must = {k for k, entry in resolved.items() if entry["refresh_at"] <= reloaded_at}
    rolled_over = {k for k, entry in resolved.items() if entry["refresh_at"] <= time.time()}
    assert must <= network.looked_up_keys() <= rolled_over, [lookup.keys for lookup in network.lookups]
    assert len(network.lookups) <= (1 if rolled_over else 0)
    for key in first_screen:
        if key not in rolled_over:
            assert warm[key]["src"] == cold[key]["src"], f"{key}: a different URL after reload"

    images = {rid: r for rid, r in wire.requests.items() if r["path"].startswith("/objects/")}
    fresh = {rid: r for rid, r in images.items() if r["key"] in rolled_over}
    cached = {rid: r for rid, r in images.items() if rid not in fresh}
    assert {r["key"] for r in cached.values()} >= set(first_screen) - rolled_over
    not_cached = {r["url"]: r for r in cached.values() if not (r.get("disk") or r.get("memory"))}
    assert not_cached == {}, f"images fetched from the server again: {not_cached}"
    wire_bytes = sum(r.get("bytes", 0) for r in cached.values())
    assert wire_bytes == 0

    timing = page.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter((e) => new URL(e.name).pathname.startsWith('/objects/'))
            .map((e) => ({ url: e.name, transferSize: e.transferSize, encodedBodySize: e.encodedBodySize }))"""
    )
    transferred = {t["url"]: t for t in timing if t["transferSize"] != 0 and image_key(t["url"]) not in rolled_over}
    assert transferred == {}, f"image bytes transferred on warm reload: {transferred}"
    assert all(t["encodedBodySize"] > 0 for t in timing)  # the entries are real, timed, cached bodies

    network.settle(page)
    served_after = steady_stack.access_log(r'"GET /objects/')[served_before:]
    assert [line for line in served_after if not any(k in line for k in rolled_over)] == []

    METRICS["gallery.warm.lookup_requests"] = len(network.lookups)
    METRICS["gallery.warm.keys_looked_up"] = len(network.looked_up_keys())
    METRICS["gallery.warm.image_requests_from_cache"] = len(cached)
    METRICS["gallery.warm.image_bytes_on_wire"] = wire_bytes + sum(t["transferSize"] for t in timing)
    METRICS["gallery.warm.keys_rolled_over"] = len(rolled_over)
    METRICS["gallery.warm.reload_seconds"] = round(time.time() - reloaded_at, 2)
    METRICS["gallery.warm.lcp_ms"] = round(warm_lcp["startTime"])
    METRICS.update({f"gallery.warm.{name}": value for name, value in timing_breakdown(page).items()})


def _resolved_urls(page) -> dict[str, dict]:
    """What the page's IndexedDB holds for the grid: key -> {url, variant, expires_at, refresh_at}."""
    return page.evaluate(
        """async () => {
            const names = (await indexedDB.databases()).map((d) => d.name)
            const out = {}
            for (const name of names) {
                const db = await new Promise((ok, ko) => {
                    const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error)
                })
                for (const store of db.objectStoreNames) {
                    const rows = await new Promise((ok, ko) => {
                        const r = db.transaction(store).objectStore(store).getAll()
                        r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error)
                    })
                    // The grid's entries: a key's variant URL (`row.variant`); the original's has none.
                    for (const row of rows) if (row && row.key && row.url && row.variant) out[row.key] = row
                }
                db.close()
            }
            return out
        }"""
    )
