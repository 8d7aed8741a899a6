"""Recovery: one object goes bad in the store, SmartImage works through its fallbacks, the object
is restored and the retry button brings the picture back.

The object is corrupted (bytes that are no image), not removed: a removed object is a permanent
`not_found` for the resolver, which rightly stops at once; a corrupt one keeps resolving while
its signed URL fails (the grid asks for a variant, which the server refuses to render from bytes
that are no image: 415/422), which is the path through retries and the proxy. The one-day
windows of `steady_stack` make sure no URL rollover rescues the retry: it must work within the
window in which the bad bytes were seen (and cached by the browser).
"""

from __future__ import annotations

import itertools
import os

from playwright.sync_api import expect

from .gallery import expect_loaded, expect_none_broken, on_screen_keys, open_gallery, smart_image
from .metrics import METRICS
from .network import Network

GARBAGE = b"this is not an image\n" * 50


def _first_screen_key(stack) -> str:
    status, listing = stack.api("GET", "/api/v1/images?limit=60")
    assert status == 200
    return listing["items"][2]["key"]  # top row of the grid


def test_broken_object_falls_back_to_proxy_then_error_slot_and_retry_recovers(page, steady_stack, console):
    console.allow(r"Failed to load resource: the server responded with a status of 41[5]|422")
    key = _first_screen_key(steady_stack)
    path = steady_stack.images_dir / key
    original = path.read_bytes()
    stat = path.stat()
    network = Network.watch(page)
    try:
        path.write_bytes(GARBAGE)
        open_gallery(page, steady_stack.base_url)
        assert key in on_screen_keys(page)
        image = smart_image(page, key)
        expect(image).to_have_attribute("data-state", "error", timeout=15_000)
        expect(image.get_by_test_id("smart-image-retry")).to_be_visible()

        # The story in the network log: the signed URL, three forced re-resolves (backoff
        # 500/1000/2000 ms) each loading the signed URL again, then the proxy, then nothing.
        mine = [r for r in network.images if r.key == key]
        kinds = [r.kind for r in mine]
        assert kinds[0] == "signed" and kinds[-1] == "proxy", kinds
        assert kinds.count("proxy") == 1 and kinds.count("signed") >= 4, kinds
        # Served, or refused as no image by the variant renderer: the bytes are what is wrong.
        assert all(r.status in (200, 415, 422) for r in mine), [(r.kind, r.status) for r in mine]
        forced = [lookup for lookup in network.lookups if key in lookup.keys and lookup.refresh]
        assert len(forced) == 3, [(lookup.keys, lookup.refresh) for lookup in network.lookups if key in lookup.keys]
        assert [round(b.at - a.at, 1) >= 0.3 for a, b in itertools.pairwise(forced)] == [True, True]
        proxy_at = next(r.at for r in mine if r.kind == "proxy")
        assert forced[-1].at <= proxy_at
        others = [k for k in on_screen_keys(page) if k != key]
        expect_loaded(page, others)
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the same etag as before

    network.clear()
    image.get_by_test_id("smart-image-retry").click()
    expect(image).to_have_attribute("data-state", "loaded", timeout=15_000)
    expect_loaded(page, [key])
    expect_none_broken(page)
    METRICS["recovery.requests_until_back"] = [f"{r.kind}:{r.status}" for r in network.images if r.key == key]
