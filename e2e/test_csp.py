"""The Content-Security-Policy is strict and the pages still work: no violation on the gallery,
the admin console (with its charts) or the API docs in Chromium."""

from __future__ import annotations

from playwright.sync_api import expect

from .gallery import expect_loaded, on_screen_keys
from .stacks import ADMIN_TOKEN

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def _violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations")


def test_gallery_admin_and_docs_run_under_the_policy_without_a_violation(page, base_url):
    page.add_init_script(RECORD_VIOLATIONS)

    response = page.goto(f"{base_url}/")  # one navigation: the gallery, under its policy
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_test_id("image-card").first).to_be_visible()
    expect_loaded(page, on_screen_keys(page)[:6])
    assert _violations(page) == []

    page.goto(f"{base_url}/admin")
    page.locator('[data-testid="admin-token-input"] input, input[data-testid="admin-token-input"]').fill(ADMIN_TOKEN)
    page.get_by_test_id("admin-login").click()
    expect(page.get_by_test_id("stat-cards")).to_be_visible()
    expect(page.locator("canvas, svg").first).to_be_visible(timeout=15_000)  # the charts drew
    assert _violations(page) == []

    page.goto(f"{base_url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Image URL Cache", timeout=15_000)
    expect(page.locator(".opblock").first).to_be_visible()
    assert _violations(page) == []
