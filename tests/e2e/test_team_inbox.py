"""The team inbox in real Chromium (issue 14), at desktop and at phone size: take a request
("Assign to me"), add a note to its timeline, then select three requests and assign them
in bulk; the cards show the assignee's initials and the Mine filter lists them."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import screenshot, staff_login

pytestmark = pytest.mark.e2e

VIEWPORTS = [
    pytest.param({"width": 1366, "height": 900}, id="desktop"),
    pytest.param({"width": 390, "height": 844}, id="phone"),
]


def card(page: Page, name: str):
    cards = page.locator("#followup-list .followup-card")
    return cards.filter(has=page.locator(".card-name", has_text=name))


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_take_a_request_add_a_note_and_bulk_assign_three(page: Page, seeded, viewport):
    label = "phone" if viewport["width"] < 900 else "desktop"
    staff_login(page, "/admin/followups")
    card(page, "Grace Hopper").locator(".card-link").click()
    detail = page.locator("#followup-detail")
    expect(detail.locator("#detail-name")).to_have_text("Grace Hopper")

    detail.locator("#assign-to-me").click()
    expect(detail.locator("#assign-to-me")).to_have_count(0)
    expect(detail.locator("#timeline .entry-assignment").first).to_contain_text("assigned it to")
    expect(card(page, "Grace Hopper").locator(".assignee-initials")).to_be_visible()

    page.fill("#note-text", "Called back; quote at https://acme.example/q/7 <b>soon</b>")
    page.click("#add-note")
    note = detail.locator("#timeline .entry-note").first
    expect(note.locator(".note-text")).to_have_text(
        "Called back; quote at https://acme.example/q/7 <b>soon</b>"
    )
    expect(note.locator(".note-text a")).to_have_attribute("href", "https://acme.example/q/7")
    expect(page.locator("#note-text")).to_have_value("")
    screenshot(page, f"team-inbox-note-{label}")

    for name in ("Ada Lovelace", "Alan Turing", "Katherine Johnson"):
        card(page, name).locator(".card-select").check()
    page.select_option("#bulk-assignee", label="Olivia Owner")
    page.click("#bulk-assign")
    expect(page.locator("#bulk-outcome")).to_contain_text("3 requests updated.")
    for name in ("Ada Lovelace", "Alan Turing", "Katherine Johnson"):
        expect(card(page, name).locator(".assignee-initials")).to_be_visible()
    screenshot(page, f"team-inbox-bulk-{label}")

    page.select_option("#assignee-filter", "mine")
    expect(page).to_have_url(re.compile(r"assignee=mine"))
    expect(page.locator("#followup-list .followup-card")).to_have_count(4)
