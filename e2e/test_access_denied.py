"""A refused object costs one storage HEAD: its SmartImage shows the error slot as soon as
storage refuses it, with no more forced re-resolves and no proxy fallback.

The local backend refuses a key whose file is a symlink out of the store root (AccessDenied:
HTTP 403, `access_denied`), and its listing skips such entries. So the key starts as a plain file,
listed with its metadata (the listing seeds the cache), and becomes a link out of the root right
after the listing answered (the first page, embedded in index.html), as when an object is
replaced in the store: the page got a signed URL with the listing; that URL answers 403, and the
forced re-resolve a failed image calls for asks storage, which refuses. `access_denied` is permanent, like `not_found`:
asking again cannot help, and the proxy reads through the same storage. So storage is asked
about the key once, the one `access_denied` answer is the last lookup of the key, and nothing
goes to `/p/<key>`.

Runs on `steady_stack` under a prefix of its own, removed afterwards; its before/after count of
storage errors holds because nothing else on that stack makes storage fail.
"""

from __future__ import annotations

import re
import shutil
import time

from playwright.sync_api import Page, Route, expect

from api.settings import Settings

from .console import ConsoleWatch
from .gallery import expect_loaded, on_screen_keys, open_gallery, smart_image
from .network import Network
from .stacks import Stack

PREFIX = "e2e-denied/"
DENIED = PREFIX + "denied.jpg"
READABLE = [PREFIX + "ok-1.jpg", PREFIX + "ok-2.jpg"]


def _storage_errors(stack: Stack) -> int:
    return stack.stats()["cache"]["storage_errors"]


def test_refused_object_costs_one_storage_head_and_no_proxy(
    page: Page, steady_stack: Stack, console: ConsoleWatch
) -> None:
    images = steady_stack.images_dir
    outside = steady_stack.data_dir / "outside" / "denied.jpg"  # DATA_DIR/images is the store root
    console.allow(r"Failed to load resource: the server responded with a status of 403")
    flush_seconds = Settings.from_env({}).access_flush_seconds  # the stacks keep the default
    try:
        demo = sorted((images / "demo").rglob("*.jpg"))[:3]
        outside.parent.mkdir(exist_ok=True)
        shutil.copyfile(demo[0], outside)  # a fine picture: only the refusal keeps it off the page
        (images / PREFIX).mkdir()
        shutil.copyfile(demo[0], images / DENIED)
        for key, source in zip(READABLE, demo[1:]):
            shutil.copyfile(source, images / key)
        errors_before = _storage_errors(steady_stack)
        network = Network.watch(page)

        def refuse_after_listing(route: Route) -> None:
            listing = route.fetch()
            if not (images / DENIED).is_symlink():
                (images / DENIED).unlink()
                (images / DENIED).symlink_to(outside)
            route.fulfill(response=listing)

        # The listing comes with index.html (its first page), or from the API where it does not.
        page.route(re.compile(r"/(\?prefix=|api/v1/images\?)"), refuse_after_listing)

        open_gallery(page, steady_stack.base_url, f"?prefix={PREFIX}")
        assert DENIED in on_screen_keys(page)
        image = smart_image(page, DENIED)
        expect(image).to_have_attribute("data-state", "error", timeout=15_000)
        failed_at = time.monotonic()
        expect(image.get_by_test_id("smart-image-retry")).to_be_visible()
        expect_loaded(page, READABLE)

        # Every process writes its counts within ACCESS_FLUSH_SECONDS; the page, which has
        # given up, must stay quiet about the key meanwhile.
        page.wait_for_timeout(max(0.0, failed_at + flush_seconds + 1.0 - time.monotonic()) * 1000)
        # (forced refresh?, answer) of each lookup of the key, in order.
        story = [
            (lookup.refresh, lookup.errors().get(DENIED, "url")) for lookup in network.lookups if DENIED in lookup.keys
        ]
        forced = sum(refresh for refresh, _ in story)
        answers = [answer for _, answer in story]
        assert forced <= 1, f"{forced} forced re-resolves of a refused key: {story}"
        assert answers.count("access_denied") == 1 and answers[-1] == "access_denied", story
        mine = [(r.kind, r.status) for r in network.images if r.key == DENIED]
        assert "proxy" not in {kind for kind, _ in mine}, f"the proxy was asked for a refused key: {mine}"
        assert steady_stack.access_log(rf'"GET /p/{re.escape(DENIED)}') == []
        # At most one: another worker's count may land after its next flush (seen in a clean run).
        refusals = _storage_errors(steady_stack) - errors_before
        assert refusals <= 1, f"storage was asked {refusals} times about a refused key; lookups: {story}"
    finally:
        shutil.rmtree(images / PREFIX, ignore_errors=True)
        outside.unlink(missing_ok=True)
