"""The gallery page as a journey drives and reads it: open it, which SmartImages are on screen,
their state and decoded pictures."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

SMART_IMAGE = '[data-testid="gallery-grid"] [data-testid="smart-image"]'


def smart_image(page: Page, key: str) -> Locator:
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
