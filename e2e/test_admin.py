"""Admin console: sign-in, live stats, refreshing one key and a selection from the gallery.

Runs on a stack of its own (`admin_stack`), so the counters start at zero: the hit-rate card
reads "no data" until the gallery is browsed, then shows the rate of those lookups.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .gallery import expect_loaded, on_screen_keys, open_gallery
from .stacks import ADMIN_TOKEN

TASK_TIMEOUT = 30_000  # the worker picks tasks up within a second; the table polls every 2 s
STATS_TIMEOUT = 30_000  # stats poll every 5 s; each worker writes its counters within 10 s


def _field(page, testid: str):
    """An Element Plus input or textarea: the testid lands on the native element itself."""
    return page.locator(
        f'input[data-testid="{testid}"], textarea[data-testid="{testid}"], '
        f'[data-testid="{testid}"] input, [data-testid="{testid}"] textarea'
    )


def _sign_in(page, token: str) -> None:
    _field(page, "admin-token-input").fill(token)
    page.get_by_test_id("admin-login").click()


def _task_row(page, task_id: str):
    return page.locator(f'[data-testid="task-row"][data-task-id="{task_id}"]')


def test_admin_sign_in_stats_refresh_and_batch_refresh_of_a_selection(page, admin_stack, console):
    base = admin_stack.base_url
    page.goto(f"{base}/admin")

    # A wrong token is refused, visibly, and nothing of the console shows.
    console.allow(r"Failed to load resource: the server responded with a status of (401|403)")
    _sign_in(page, "not-the-token")
    expect(page.get_by_test_id("admin-login-error")).to_be_visible()
    expect(page.get_by_test_id("admin-login-error")).to_contain_text(re.compile(r"40[13]"))
    expect(page.get_by_test_id("stat-cards")).to_have_count(0)

    # The right one opens the console: stats, with no lookups counted yet on this fresh stack.
    _sign_in(page, ADMIN_TOKEN)
    expect(page.get_by_test_id("stat-cards")).to_be_visible()
    expect(page.get_by_test_id("admin-login-error")).to_have_count(0)
    hit_rate = page.get_by_test_id("stat-hit-rate")
    expect(hit_rate).to_be_visible()
    expect(hit_rate).to_have_attribute("data-value", "")
    before = hit_rate.inner_text()
    for testid in ("stat-queue-depth", "stat-workers", "stat-failure-rate"):
        expect(page.get_by_test_id(testid)).to_be_visible()
    # The worker's first heartbeat may come one stats poll after sign-in.
    expect(page.get_by_test_id("stat-workers")).not_to_have_attribute("data-value", "0", timeout=STATS_TIMEOUT)
    # The Deployment card: the stack's Redis, and its API node and worker with their versions.
    deployment = page.get_by_test_id("deployment-card")
    expect(deployment.get_by_test_id("deployment-redis")).to_have_attribute("data-topology", "standalone")
    for kind in ("node", "worker"):
        expect(deployment.locator(f'[data-testid="deployment-row"][data-kind="{kind}"]').first).to_be_visible(
            timeout=STATS_TIMEOUT
        )

    # Browse the gallery in another tab, and pick three images there for a batch refresh.
    gallery = page.context.new_page()
    console.watch(gallery)
    open_gallery(gallery, base)
    shown = on_screen_keys(gallery)
    expect_loaded(gallery, shown)
    gallery.get_by_test_id("selection-toggle").click()
    picked = shown[:3]
    for key in picked:
        gallery.locator(f'[data-testid="image-card"][data-key="{key}"] [data-testid="image-card-button"]').click()
    expect(gallery.get_by_test_id("selection-count")).to_contain_text("3")
    gallery.get_by_test_id("send-to-batch-refresh").click()
    expect(gallery).to_have_url(re.compile(r"/admin#batch-refresh$"))

    # The console notices the browsing: the hit-rate card now has a figure.
    page.bring_to_front()
    expect(hit_rate).not_to_have_attribute("data-value", "", timeout=STATS_TIMEOUT)
    assert 0.0 <= float(hit_rate.get_attribute("data-value")) <= 1.0
    assert hit_rate.inner_text() != before

    # Refresh one key: its task appears in the table and succeeds.
    _field(page, "refresh-key-input").fill(shown[-1])
    with page.expect_response(lambda r: r.url.endswith("/api/v1/tasks/refresh") and r.request.method == "POST") as sent:
        page.get_by_test_id("refresh-button").click()
    assert sent.value.status == 202, sent.value.text()
    single = _task_row(page, sent.value.json()["task_id"])
    expect(single).to_have_attribute("data-status", "succeeded", timeout=TASK_TIMEOUT)

    # Batch refresh of the gallery selection, in the tab the gallery sent to the console: the
    # token lives in each tab's session, so sign in there; the selection came along with the tab.
    _sign_in(gallery, ADMIN_TOKEN)
    expect(gallery.get_by_test_id("stat-cards")).to_be_visible()
    gallery.get_by_test_id("use-selection").click()
    expect(_field(gallery, "batch-textarea")).to_have_value("\n".join(picked))
    with gallery.expect_response(
        lambda r: r.url.endswith("/api/v1/tasks/batch-refresh") and r.request.method == "POST"
    ) as sent:
        gallery.get_by_test_id("batch-refresh-button").click()
    assert sent.value.status == 202, sent.value.text()
    batch_id = sent.value.json()["task_id"]
    batch = _task_row(gallery, batch_id)
    expect(batch).to_have_attribute("data-status", "succeeded", timeout=TASK_TIMEOUT)
    expect(batch.get_by_test_id("task-progress")).to_contain_text("3 / 3")
    expect(batch.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")

    # Both tasks are in the first tab's table too, finished.
    expect(_task_row(page, batch_id)).to_have_attribute("data-status", "succeeded", timeout=TASK_TIMEOUT)
    expect(single).to_have_attribute("data-status", "succeeded")
