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


SELECTION_VIEWPORTS = [
    pytest.param({"width": 1280, "height": 800}, id="desktop"),
    pytest.param({"width": 390, "height": 844}, id="phone"),
]


def is_mixed(box) -> bool:
    return box.evaluate("box => box.indeterminate")


@pytest.mark.parametrize("viewport", SELECTION_VIEWPORTS)
def test_select_all_on_the_page_counts_clears_and_works_by_keyboard(page: Page, seeded, viewport):
    label = "phone" if viewport["width"] < 900 else "desktop"
    staff_login(page, "/admin/followups")
    select_all = page.locator("#bulk-select-all")
    count = page.locator("#bulk-count")
    clear = page.locator("#bulk-clear")
    boxes = page.locator("#followup-list .card-select")
    expect(boxes).to_have_count(4)
    expect(count).to_have_text("0 selected")
    expect(clear).to_be_disabled()

    # One of four: the select-all box is mixed.
    card(page, "Ada Lovelace").locator(".card-select").check()
    expect(count).to_have_text("1 selected")
    expect(select_all).not_to_be_checked()
    assert is_mixed(select_all)
    expect(clear).to_be_enabled()
    screenshot(page, f"bulk-one-selected-{label}")

    # By keyboard: Space on the box selects every card of the page, Tab reaches Clear.
    select_all.focus()
    page.keyboard.press("Space")
    expect(count).to_have_text("4 selected")
    expect(select_all).to_be_checked()
    assert not is_mixed(select_all)
    for index in range(4):
        expect(boxes.nth(index)).to_be_checked()
    page.keyboard.press("Tab")
    expect(clear).to_be_focused()
    screenshot(page, f"bulk-all-selected-{label}")

    # Clear unchecks them all and gives the keyboard back to the select-all box.
    page.keyboard.press("Enter")
    expect(count).to_have_text("0 selected")
    expect(select_all).to_be_focused()
    expect(select_all).not_to_be_checked()
    assert not is_mixed(select_all)
    for index in range(4):
        expect(boxes.nth(index)).not_to_be_checked()
    expect(clear).to_be_disabled()

    # A bulk action on the page's selection: the list comes back, and the count with it.
    select_all.check()
    page.select_option("#bulk-priority", "high")
    page.click("#bulk-set-priority")
    expect(page.locator("#bulk-outcome")).to_contain_text("4 requests updated.")
    expect(page.locator("#followup-list .badge-high")).to_have_count(4)
    expect(count).to_have_text("0 selected")
    expect(select_all).not_to_be_checked()
