"""The gallery of the photo album asks for images sized to the page (one-day windows).

- First paint: index.html carries the first page; its first screen loads with no listing and
  no lookup request, eagerly and with `fetchpriority="high"`.
- Each cell reserves its box at the image's ratio and asks for a variant of its size, with a
  `srcset`; the bytes of a cell are a small part of the original's.
- The viewer shows a larger variant and links the original.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from .gallery import expect_loaded, expect_none_broken, on_screen_keys, open_gallery

ALBUM = "demo/photos/"


def _embedded(page) -> dict:
    text = page.evaluate("() => document.getElementById('first-page')?.textContent ?? null")
    assert text, "index.html carries the first page"
    return json.loads(text)


def test_first_screen_of_the_album_asks_the_api_nothing_and_loads_variants(page, steady_stack):
    api: list[str] = []
    page.on("request", lambda r: api.append(r.url) if "/api/v1/" in r.url else None)
    open_gallery(page, steady_stack.base_url, f"?prefix={ALBUM}")
    first_screen = on_screen_keys(page)
    assert len(first_screen) >= 8
    expect_loaded(page, first_screen)
    expect_none_broken(page)
    assert api == [], f"the first screen made API requests: {api}"

    embedded = _embedded(page)
    assert embedded["prefix"] == ALBUM and embedded["widths"]
    items = {item["key"]: item for item in embedded["listing"]["items"]}
    cells = page.evaluate(
        """(keys) => keys.map((key) => {
            const root = document.querySelector(`[data-testid="smart-image"][data-key="${CSS.escape(key)}"]`)
            const img = root.querySelector('img')
            const box = root.getBoundingClientRect()
            return { key, ratio: getComputedStyle(root).aspectRatio, box: box.width / box.height,
                     srcset: img.getAttribute('srcset'), sizes: img.getAttribute('sizes'), src: img.currentSrc,
                     loading: img.getAttribute('loading'), priority: img.getAttribute('fetchpriority'),
                     natural: img.naturalWidth, variant: Number(root.dataset.variant) }
        })""",
        first_screen,
    )
    sizes = {}
    for cell in cells:
        item = items[cell["key"]]
        # The box was reserved at the image's own ratio (from the listing's width and height).
        assert cell["ratio"].replace(" ", "") == f"{item['width']}/{item['height']}", cell
        assert abs(cell["box"] - item["width"] / item["height"]) < 0.02, cell
        assert re.fullmatch(r"\S+ \d+w", cell["srcset"]) and re.fullmatch(r"\d+px", cell["sizes"]), cell
        assert cell["loading"] == "eager" and cell["priority"] == "high", cell
        # The embedded URL itself: a variant, far narrower than the ~3000 px original.
        assert cell["src"].endswith(item["url"]) and "w=480" in cell["src"], cell
        assert 0 < cell["natural"] <= 480 and cell["variant"] <= 480, cell
        sizes[cell["key"]] = cell
    transferred = page.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter((e) => new URL(e.name).pathname.startsWith('/objects/demo/photos/'))
            .reduce((sum, e) => sum + e.encodedBodySize, 0)"""
    )
    originals = sum(items[key]["size"] for key in first_screen)
    assert 0 < transferred < 0.1 * originals, (transferred, originals)

    # A cell below the first screen stays lazy.
    below = page.locator('[data-testid="smart-image"]').last
    expect(below).to_have_attribute("data-state", "idle")

    # The viewer: a larger variant of the same image, and the original a link away.
    key = first_screen[0]
    page.locator(f'[data-testid="image-card"][data-key="{key}"] [data-testid="image-card-button"]').click()
    viewer = page.locator(".el-image-viewer__img")
    expect(viewer).to_be_visible()
    src = viewer.get_attribute("src") or ""
    width = int(re.search(r"[?&]w=(\d+)", src).group(1))
    assert src.startswith(f"/i/{key}?") and width > sizes[key]["variant"], src
    page.wait_for_function("() => document.querySelector('.el-image-viewer__img')?.naturalWidth > 480")
    original = page.get_by_test_id("viewer-original")
    expect(original).to_have_attribute("href", f"/i/{key}")
    page.keyboard.press("Escape")
    expect(viewer).to_have_count(0)
