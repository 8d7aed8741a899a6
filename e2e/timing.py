"""How fast a page got there: its Largest Contentful Paint and where the time before it went."""

from __future__ import annotations

from playwright.sync_api import Page

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
