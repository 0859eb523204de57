"""Live admin pages in real Chromium: two staff browsers on the Follow-Ups page. What one
changes (or what arrives meanwhile) shows in the other within 2 s, without Refresh: the
cards, the pending badge, the tab title and the open detail. Desktop alerts are off
until asked for with a click. Export CSV downloads the filtered list."""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from followup.extensions import db
from followup.models import Source, Tenant
from followup.services import followups
from tests.helpers.browser import screenshot, staff_login

pytestmark = pytest.mark.e2e

LIVE_MS = 2_000  # the promise: within 2 s
FAKE_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notifications = [];
  function Recorded(title, options) {
    window.__notifications.push({ title: title, tag: options && options.tag });
    this.close = function () {};
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = () => Real.requestPermission();
  window.Notification = Recorded;
})();
"""


@pytest.fixture
def second_page(chromium, live_server, viewport):
    """A colleague's browser: a context of its own (own cookies, own login)."""
    context = chromium.new_context(base_url=live_server.url, viewport=viewport)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def add_followup(live_server, data: dict) -> int:
    """A request arriving meanwhile (the widget, the API, another process); its id."""
    with live_server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        followup_id = followups.create_followup(tenant.id, data, source=Source.TEXT).id
        db.session.remove()
    return followup_id


def card(page: Page, name: str):
    return page.locator("#followup-list .followup-card").filter(
        has=page.locator(".card-name", has_text=name)
    )


def mark_page(page: Page) -> None:
    page.evaluate("window.__noReload = true")


def expect_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"


@pytest.mark.parametrize(
    "viewport",
    [
        pytest.param({"width": 1366, "height": 900}, id="desktop"),
        pytest.param({"width": 390, "height": 844}, id="phone"),
    ],
)
def test_a_colleagues_changes_appear_without_refresh(
    page, second_page, seeded, live_server, viewport
):
    staff_login(page, f"/admin/followups/{seeded['Ada Lovelace']}")
    staff_login(second_page, "/admin/followups")
    expect(page).to_have_title(re.compile(r"^\(3\) Follow-Up Requests"))
    expect(page.locator("#pending-badge")).to_have_text("3 pending")
    mark_page(page)

    # The colleague moves Grace along; the first browser sees card, badge and title follow.
    card(second_page, "Grace Hopper").locator(".card-link").click()
    expect(second_page.locator("#detail-name")).to_have_text("Grace Hopper")
    second_page.select_option("#status-select", "contacted")
    expect(second_page.locator("#followup-detail .status-pill").first).to_have_text("Contacted")
    grace = card(page, "Grace Hopper")
    expect(grace.locator(".status-pill")).to_have_text("Contacted", timeout=LIVE_MS)
    expect(page.locator("#pending-badge")).to_have_text("2 pending", timeout=LIVE_MS)
    expect(page).to_have_title(re.compile(r"^\(2\) Follow-Up Requests"), timeout=LIVE_MS)

    # The colleague writes a note on Ada, whose detail is open here: it follows.
    card(second_page, "Ada Lovelace").locator(".card-link").click()
    expect(second_page.locator("#detail-name")).to_have_text("Ada Lovelace")
    second_page.fill("#note-text", "Called back: wants the invoice by post.")
    second_page.click("#add-note")
    expect(second_page.locator("#note-text")).to_have_value("")
    expect(page.locator("#timeline .entry-note .note-text")).to_have_text(
        "Called back: wants the invoice by post.", timeout=LIVE_MS
    )

    # A new request arrives (the widget, another process): on top of the list, counted.
    add_followup(
        live_server,
        {"name": "Mary Jackson", "email": "mary@example.com", "reason": "Wind tunnel booking."},
    )
    expect(page.locator("#followup-list .card-name").first).to_have_text(
        "Mary Jackson", timeout=LIVE_MS
    )
    expect(page).to_have_title(re.compile(r"^\(3\) Follow-Up Requests"), timeout=LIVE_MS)
    expect(second_page).to_have_title(re.compile(r"^\(3\) Follow-Up Requests"), timeout=LIVE_MS)

    # A status change elsewhere reaches the open detail too.
    live_server.change_status(seeded["Ada Lovelace"], "contacted")
    expect(page.locator("#followup-detail .status-pill").first).to_have_text(
        "Contacted", timeout=LIVE_MS
    )
    expect(page).to_have_title(re.compile(r"^\(2\) Follow-Up Requests"), timeout=LIVE_MS)
    expect_not_reloaded(page)
    size = "phone" if viewport["width"] < 900 else "desktop"
    screenshot(page, f"live-first-browser-{size}")
    screenshot(second_page, f"live-second-browser-{size}")


def test_typing_in_the_open_detail_is_never_replaced(page, seeded, live_server):
    staff_login(page, f"/admin/followups/{seeded['Ada Lovelace']}")
    page.fill("#note-text", "Half a thought")
    live_server.change_status(seeded["Grace Hopper"], "contacted")
    expect(card(page, "Grace Hopper").locator(".status-pill")).to_have_text(
        "Contacted", timeout=LIVE_MS
    )
    page.wait_for_timeout(1_500)  # another poll or two
    expect(page.locator("#note-text")).to_have_value("Half a thought")


def test_every_admin_page_keeps_the_title_count(page, seeded, live_server):
    staff_login(page, "/admin/settings")
    expect(page).to_have_title(re.compile(r"^\(3\) Settings"))
    live_server.change_status(seeded["Ada Lovelace"], "contacted")
    expect(page).to_have_title(re.compile(r"^\(2\) Settings"), timeout=LIVE_MS)
    live_server.change_status(seeded["Grace Hopper"], "contacted")
    live_server.change_status(seeded["Alan Turing"], "contacted")
    expect(page).to_have_title(re.compile(r"^Settings"), timeout=LIVE_MS)


def test_desktop_alerts_are_asked_for_on_a_click_only(page, seeded, live_server):
    page.context.add_init_script(FAKE_NOTIFICATIONS)
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    staff_login(page, "/admin/followups")
    button = page.locator("#desktop-alerts")
    expect(button).to_have_text("Desktop alerts: off")
    add_followup(live_server, {"name": "Before", "email": "b@example.com", "reason": "Off."})
    expect(page.locator("#followup-list .card-name").first).to_have_text("Before")
    assert page.evaluate("window.__notifications") == []  # off by default

    button.click()
    expect(button).to_have_text("Desktop alerts: on")
    expect(button).to_have_attribute("aria-pressed", "true")
    new = add_followup(live_server, {"name": "After", "email": "a@example.com", "reason": "On."})
    expect(page.locator("#followup-list .card-name").first).to_have_text("After")
    page.wait_for_function("() => window.__notifications.length > 0")
    assert page.evaluate("window.__notifications") == [
        {"title": "New follow-up request", "tag": f"followup-request-{new}"}
    ]
    screenshot(page, "live-desktop-alerts-on")


def test_export_csv_downloads_the_filtered_list(page, seeded):
    staff_login(page, "/admin/followups")
    page.select_option("#status-filter", "pending")
    expect(page.locator("#followup-list .followup-card")).to_have_count(3)
    with page.expect_download() as download_info:
        page.locator("#export-button").click()
    download = download_info.value
    assert re.fullmatch(r"followups-acme-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["name"] for row in rows] == ["Alan Turing", "Grace Hopper", "Ada Lovelace"]
    assert {row["status"] for row in rows} == {"pending"}


def test_no_desktop_alerts_button_where_the_browser_cannot_notify(page, seeded):
    page.context.add_init_script("delete window.Notification;")
    staff_login(page, "/admin/followups")
    expect(page.locator("#desktop-alerts")).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


@pytest.mark.parametrize("viewport", [pytest.param({"width": 390, "height": 844}, id="phone")])
def test_typing_on_a_phone_keeps_the_keyboard_while_the_list_follows(
    page, seeded, live_server, viewport
):
    """On a phone the detail sits inside the list: the list's refreshes move it, and a
    move must not take the keyboard from someone typing a note."""
    staff_login(page, f"/admin/followups/{seeded['Ada Lovelace']}")
    note = page.locator("#note-text")
    note.click()
    page.keyboard.type("Half ")
    live_server.change_status(seeded["Grace Hopper"], "contacted")
    expect(card(page, "Grace Hopper").locator(".status-pill")).to_have_text(
        "Contacted", timeout=LIVE_MS
    )
    page.wait_for_timeout(1_500)  # another poll or two
    expect(note).to_be_focused()
    page.keyboard.type("a thought")
    expect(note).to_have_value("Half a thought")
