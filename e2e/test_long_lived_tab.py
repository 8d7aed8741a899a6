"""A gallery tab left open across two 20 s window rollovers and past its first URLs' expiry.

The page samples itself every 100 ms (in the page, so no sample is missed between two Playwright
calls): the state and `src` of every SmartImage, whether the browser gave up on an `<img>`, and
how long the URL each visible image shows has left. Visible images must be re-resolved before
their URL dies (at `refresh_at`, 20 s ahead of expiry here), and nothing may ever show broken.
"""

from __future__ import annotations

import time

from .gallery import expect_loaded, expect_none_broken, on_screen_keys, open_gallery
from .metrics import METRICS
from .network import Network, url_expiry
from .stacks import WINDOW_SECONDS

SAMPLER = """(keys) => {
    const watch = { keys, samples: 0, broken: [], expiredShown: [], minLeft: Infinity, history: {} }
    for (const key of keys) watch.history[key] = []
    const expOf = (src) => {
        try { return Number(new URL(src, location.href).searchParams.get('exp')) || null } catch { return null }
    }
    const sample = () => {
        watch.samples++
        const now = Date.now() / 1000
        for (const root of document.querySelectorAll('[data-testid="smart-image"]')) {
            const key = root.dataset.key
            const img = root.querySelector('img')
            const src = img ? img.getAttribute('src') : null
            if (root.dataset.state === 'error' || (img && img.complete && src && img.naturalWidth === 0)) {
                watch.broken.push({ key, state: root.dataset.state, src, at: now })
            }
            if (!(key in watch.history) || !src) continue
            const seen = watch.history[key]
            if (seen[seen.length - 1] !== src) seen.push(src)
            const exp = expOf(src)
            if (exp !== null && root.dataset.state === 'loaded') {
                watch.minLeft = Math.min(watch.minLeft, exp - now)
                if (exp <= now) watch.expiredShown.push({ key, src, at: now })
            }
        }
    }
    sample()
    watch.timer = setInterval(sample, 100)
    window.__watch = watch
}"""

ROLLED_TWICE_AND_FIRST_EXPIRED = """(deadline) => {
    const w = window.__watch
    const now = Date.now() / 1000
    return w.keys.every((key) => {
        const seen = w.history[key]
        const firstExp = Number(new URL(seen[0], location.href).searchParams.get('exp'))
        return seen.length >= 3 && now > firstExp + 1
    })
}"""


def test_open_tab_survives_two_rollovers_and_the_first_urls_expiry(page, stack):
    network = Network.watch(page)
    started = time.time()
    open_gallery(page, stack.base_url)
    watched = on_screen_keys(page)
    first = expect_loaded(page, watched)
    first_expiry = max(url_expiry(first[k]["src"]) for k in watched)
    assert first_expiry <= time.time() + 2 * WINDOW_SECONDS  # signed for a 20 s window + 20 s
    page.evaluate(SAMPLER, watched)

    # Two rollovers per key take at most 2 windows; the first URLs die by then as well.
    page.wait_for_function(ROLLED_TWICE_AND_FIRST_EXPIRED, timeout=(2 * WINDOW_SECONDS + 25) * 1000, polling=500)
    watch = page.evaluate(
        "() => { clearInterval(window.__watch.timer); const { timer, ...w } = window.__watch; return w }"
    )
    assert time.time() > first_expiry
    assert watch["broken"] == [], f"images shown broken: {watch['broken'][:5]}"
    assert watch["expiredShown"] == [], f"visible images kept an expired URL: {watch['expiredShown'][:5]}"
    expect_none_broken(page)
    expect_loaded(page, watched)

    # Every rollover was a lookup that kept the image: new URLs, all served (no 403/410).
    failed = [(r.status, r.path) for r in network.images if r.status != 200]
    assert failed == [], failed
    for key in watched:
        urls = watch["history"][key]
        assert len(set(urls)) == len(urls) >= 3, f"{key}: {urls}"
        assert [url_expiry(u) for u in urls] == sorted(url_expiry(u) for u in urls)
    assert not any(lookup.refresh for lookup in network.lookups), "no image failed, so no forced refresh"
    lookups_per_key = {key: sum(key in lookup.keys for lookup in network.lookups) for key in watched}
    # The first URLs came with index.html (its embedded first page): one lookup per rollover.
    assert all(n >= 2 for n in lookups_per_key.values()), f"one lookup per rollover: {lookups_per_key}"

    # An image loaded off screen (inside the lazy margin) kept its first URL, now dead: brought on
    # screen it is re-resolved at once and still never shows broken.
    off_screen = [
        k
        for k in page.eval_on_selector_all(
            '[data-testid="smart-image"][data-state="loaded"]', "els => els.map((e) => e.dataset.key)"
        )
        if k not in watched
    ]
    if off_screen:
        key = off_screen[-1]
        page.locator(f'[data-testid="smart-image"][data-key="{key}"]').scroll_into_view_if_needed()
        page.wait_for_function(
            """(key) => {
                const img = document.querySelector(`[data-testid="smart-image"][data-key="${key}"] img`)
                const exp = Number(new URL(img.getAttribute('src'), location.href).searchParams.get('exp'))
                return exp > Date.now() / 1000 && img.complete && img.naturalWidth > 0
            }""",
            arg=key,
            timeout=10_000,
        )
        expect_none_broken(page)

    METRICS["long_lived.seconds_open"] = round(time.time() - started, 1)
    METRICS["long_lived.images_watched"] = len(watched)
    METRICS["long_lived.samples"] = watch["samples"]
    METRICS["long_lived.min_seconds_left_on_shown_url"] = round(watch["minLeft"], 1)
    METRICS["long_lived.lookup_requests"] = len(network.lookups)
