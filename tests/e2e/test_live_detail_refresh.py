"""The open detail follows live changes, but never over the member's own work: a refresh
that was on its way while they added a note comes back older than the note, and is
dropped (the network is held by the test, so the order is certain)."""

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import staff_login

pytestmark = pytest.mark.e2e

REFRESH_HEADER = "x-followup-refresh"
# Each refresh's swap decision, written on <body> so the test waits on the DOM (a
# wait_for_function string would need eval, which the page's CSP refuses).
RECORD_REFRESH_SWAPS = """() => {
  document.addEventListener("htmx:beforeSwap", (event) => {
    const headers = event.detail.requestConfig && event.detail.requestConfig.headers;
    if (headers && headers["X-Followup-Refresh"] !== undefined) {
      const seen = document.body.dataset.refreshSwaps;
      document.body.dataset.refreshSwaps = (seen ? seen + "," : "") + event.detail.shouldSwap;
    }
  });
}"""


def is_refresh(request) -> bool:
    return REFRESH_HEADER in request.headers


def test_a_refresh_older_than_a_new_note_does_not_replace_it(page: Page, seeded, live_server):
    staff_login(page, f"/admin/followups/{seeded['Ada Lovelace']}")
    held = []
    page.route(
        "**/admin/followups/*",
        lambda route: held.append(route) if is_refresh(route.request) else route.continue_(),
    )
    page.evaluate(RECORD_REFRESH_SWAPS)
    with page.expect_request(is_refresh):
        live_server.change_status(seeded["Grace Hopper"], "contacted")  # news elsewhere
    page.fill("#note-text", "Spoke to Ada: invoice goes out today.")
    page.click("#add-note")
    note = page.locator("#timeline .entry-note").first
    expect(note).to_contain_text("invoice goes out today")

    held[0].continue_()  # the refresh, asked for before the note, comes back now
    expect(page.locator("body")).to_have_attribute("data-refresh-swaps", "false")
    expect(note).to_contain_text("invoice goes out today")
