"""The Follow-Up Requests page in real Chromium, at desktop and at phone size.

One flow per viewport walks what staff do: log in, search, filter, go back in
history, open a request, change its status, add a note, switch follow-ups off and
see the banner, and get a settings error, checking along the way that HTMX swaps
panes without reloading the page and that the detail panel sits where it should.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import Page, expect

from followup.clock import utcnow
from tests.helpers.browser import screenshot, staff_login

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


# --- helpers ---------------------------------------------------------------------------------


def login(page: Page) -> None:
    staff_login(page, "/admin/followups")


def cards(page: Page):
    return page.locator("#followup-list .followup-card")


def card(page: Page, name: str):
    return cards(page).filter(has=page.locator(".card-name", has_text=name))


def expect_listed(page: Page, names: list[str]) -> None:
    expect(cards(page).locator(".card-name")).to_have_text(names)


def search(page: Page, text: str) -> None:
    page.fill("#search", text)


def filter_status(page: Page, status: str) -> None:
    page.select_option("#status-filter", status)


def open_card(page: Page, name: str) -> None:
    card(page, name).locator(".card-link").click()
    expect(page.locator("#followup-detail #detail-name")).to_have_text(name)


def detail(page: Page):
    return page.locator("#followup-detail")


def wait_until_settled(page: Page) -> None:
    """Until htmx has no request in flight and has wired up what it swapped in: a change
    made earlier reaches an element htmx does not listen to yet."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def mark_page(page: Page) -> None:
    """Set a marker that only survives as long as the page is not reloaded."""
    page.evaluate("window.__noReload = true")


def expect_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"


def boxes(page: Page, name: str) -> dict:
    """Viewport rectangles of the list, the detail panel, a card and the card after it,
    read in one go so scrolling cannot skew them against each other."""
    return page.evaluate(
        """(name) => {
            const rect = (el) => el && el.getBoundingClientRect().toJSON();
            const cards = [...document.querySelectorAll('#followup-list .followup-card')];
            const index = cards.findIndex(c => c.querySelector('.card-name').textContent === name);
            return {
                list: rect(document.getElementById('followup-cards')),
                panel: rect(document.getElementById('detail-panel')),
                card: rect(cards[index]),
                next: rect(cards[index + 1]),
            };
        }""",
        name,
    )


def is_phone(viewport: dict) -> bool:
    return viewport["width"] <= 900  # the page's own breakpoint (static/js/app.js)


def expect_detail_placed(page: Page, name: str, viewport: dict) -> None:
    """Desktop: the panel is a column right of the list. Phone: right below the card."""
    selected = card(page, name)
    expect(selected).to_have_class(re.compile(r"\bis-selected\b"))
    if not is_phone(viewport):
        expect(page.locator(".followups-layout > #detail-panel")).to_be_visible()
        b = boxes(page, name)
        assert b["panel"]["left"] >= b["list"]["right"], b
        assert b["panel"]["top"] < b["list"]["bottom"], b  # side by side, not stacked
    else:
        expect(page.locator("#inline-detail-slot > #detail-panel")).to_be_visible()
        b = boxes(page, name)
        assert b["next"] is not None, "the selected card should not be the last one"
        assert b["card"]["bottom"] <= b["panel"]["top"] <= b["card"]["bottom"] + 40, b
        assert b["panel"]["bottom"] <= b["next"]["top"], b
        assert b["panel"]["left"] >= 0 and b["panel"]["right"] <= viewport["width"], b


# --- the flow --------------------------------------------------------------------------------

ALL = ["Katherine Johnson", "Alan Turing", "Grace Hopper", "Ada Lovelace"]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_staff_work_through_the_followups_page(page: Page, seeded, viewport, artifacts_dir):
    name = "phone" if is_phone(viewport) else "desktop"
    grace_id = seeded["Grace Hopper"]

    # Log in and land on the page.
    login(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Follow-Up Requests")
    badge = page.locator("#pending-badge")
    expect(badge).to_have_text("3 pending")
    expect_listed(page, ALL)
    mark_page(page)

    # Search narrows the list as you type (after the 300 ms pause) and goes in the URL.
    search(page, "grace")
    expect_listed(page, ["Grace Hopper"])
    expect(page).to_have_url(re.compile(r"[?&]q=grace(&|$)"))
    search(page, "")
    expect_listed(page, ALL)
    expect(page).not_to_have_url(re.compile(r"q=grace"))

    # The status filter does the same.
    filter_status(page, "contacted")
    expect_listed(page, ["Katherine Johnson"])
    expect(page).to_have_url(re.compile(r"[?&]status=contacted(&|$)"))

    # Back restores the list before the filter, forward the filtered one.
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"status=contacted"))
    expect_listed(page, ALL)
    expect(page.locator("#status-filter")).to_have_value("")
    page.go_forward()
    expect(page).to_have_url(re.compile(r"[?&]status=contacted(&|$)"))
    expect_listed(page, ["Katherine Johnson"])
    expect(page.locator("#status-filter")).to_have_value("contacted")

    # Clear the filters.
    filter_status(page, "")
    expect_listed(page, ALL)
    expect(page).not_to_have_url(re.compile(r"status=contacted"))
    expect_not_reloaded(page)

    # Open a request: its details, in the right place, with the URL to come back to.
    open_card(page, "Grace Hopper")
    expect(page).to_have_url(re.compile(rf"/admin/followups/{grace_id}(\?|$)"))
    expect(detail(page).locator('a[href="mailto:grace@example.com"]')).to_have_text(
        "grace@example.com"
    )
    expect(detail(page).locator('a[href="tel:+14155550100"]')).to_be_visible()
    expect(detail(page).locator(".reason")).to_have_text(
        "Question about renewing the compiler licence before Friday."
    )
    expect(detail(page).locator(".detail-badges .status-pill")).to_have_text("Pending")
    expect_detail_placed(page, "Grace Hopper", viewport)
    expect_not_reloaded(page)

    # Change the status: detail, card and badge follow without a reload.
    page.select_option("#status-select", "contacted")
    expect(detail(page).locator(".detail-badges .status-pill")).to_have_text("Contacted")
    expect(detail(page).locator("#timeline .entry-status")).to_contain_text(
        "Olivia Owner moved it from Pending to Contacted"
    )
    expect(card(page, "Grace Hopper").locator(".status-pill")).to_have_text("Contacted")
    expect(badge).to_have_text("2 pending")
    expect_detail_placed(page, "Grace Hopper", viewport)
    expect_not_reloaded(page)

    # A reload keeps the selection and the new status.
    page.reload()
    expect(page).to_have_url(re.compile(rf"/admin/followups/{grace_id}(\?|$)"))
    expect(page.locator("#followup-detail #detail-name")).to_have_text("Grace Hopper")
    expect(detail(page).locator(".detail-badges .status-pill")).to_have_text("Contacted")
    expect(card(page, "Grace Hopper").locator(".status-pill")).to_have_text("Contacted")
    expect(badge).to_have_text("2 pending")
    expect_detail_placed(page, "Grace Hopper", viewport)

    # A note goes on the timeline and is still there after a reload.
    note = "Called back, she prefers email.\nSend the renewal quote on Monday."
    page.fill("#note-text", note)
    page.click("#add-note")
    expect(page.locator("#note-text")).to_have_value("")
    expect(detail(page).locator("#timeline .entry-note .note-text")).to_have_text(note)
    page.reload()
    expect(detail(page).locator("#timeline .entry-note .note-text")).to_have_text(note)
    mark_page(page)

    # Switching follow-ups off shows the warning banner at once.
    expect(page.locator("#disabled-banner")).to_have_count(0)
    page.click("#settings-button")
    settings = page.locator("#settings-panel")
    expect(settings.get_by_role("heading", name="Follow-Up Settings")).to_be_visible()
    expect(page.locator("#enabled")).to_be_checked()
    page.uncheck("#enabled")
    settings.get_by_role("button", name="Save Settings").click()
    expect(settings.get_by_role("status")).to_have_text("Settings saved.")
    banner = page.locator("#disabled-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("customers cannot request follow-ups")
    expect(page.locator("#enabled")).not_to_be_checked()

    # A response time out of range is refused with a message.
    page.fill("#response_time_hours", "0")
    settings.get_by_role("button", name="Save Settings").click()
    error = settings.get_by_role("alert")
    expect(error).to_have_text("Response Time (hours): use a whole number from 1 to 168.")
    expect(page.locator("#response_time_hours")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#response_time_hours")).to_have_value("0")
    expect(settings.get_by_role("status")).to_have_count(0)
    expect(banner).to_be_visible()
    expect_not_reloaded(page)

    page.screenshot(path=str(artifacts_dir / f"followups-{name}.png"), full_page=True)


SCRIPT = "<script>window.__pwned=1</script>"


def test_customer_text_is_shown_as_text_not_run(page: Page, live_server):
    live_server.seed([{"name": "Mallory", "email": "mallory@example.com", "reason": SCRIPT}])
    login(page)
    expect(card(page, "Mallory").locator(".card-reason")).to_have_text(SCRIPT)
    open_card(page, "Mallory")  # swapped in by HTMX, which would run a real script tag
    expect(detail(page).locator(".reason")).to_have_text(SCRIPT)
    page.reload()
    expect(detail(page).locator(".reason")).to_have_text(SCRIPT)
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_an_htmx_request_after_the_session_ended_goes_to_the_login_page(page: Page, seeded):
    login(page)
    page.context.clear_cookies()
    search(page, "grace")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", name="Log in to Followup")).to_be_visible()
    expect(page.locator("#followup-list")).to_have_count(0)


def second_tab(page: Page, url: str) -> Page:
    """Another tab of the same browser (the same staff login) on `url`."""
    tab = page.context.new_page()
    tab.goto(url)
    tab.wait_for_load_state("load")
    return tab


def not_hearing_of_changes(page: Page) -> None:
    """The tab's live poll answers "nothing new" (as while Redis is away): what it shows
    stays as it was, a stale view, until the person acts."""
    page.route("**/admin/live?*", lambda route: route.fulfill(status=204))


def test_a_refused_status_change_shows_why(page: Page, live_server, seeded):
    login(page)
    open_card(page, "Grace Hopper")
    not_hearing_of_changes(page)
    # Someone else cancels the request meanwhile; contacting it is no longer allowed.
    live_server.change_status(seeded["Grace Hopper"], "cancelled")
    page.select_option("#status-select", "contacted")
    expect(detail(page).get_by_role("alert")).to_contain_text("cancelled, a final status")
    expect(detail(page).locator(".detail-badges .status-pill")).to_have_text("Cancelled")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_back_and_forward_restore_each_step_without_script_errors(page: Page, seeded, viewport):
    """History restores swap the whole page in without a request of the page's own:
    the page's scripts must take that in their stride (the guard fails on any error)."""
    grace_id = seeded["Grace Hopper"]
    login(page)
    open_card(page, "Grace Hopper")
    expect(page).to_have_url(re.compile(rf"/admin/followups/{grace_id}(\?|$)"))
    filter_status(page, "contacted")
    expect_listed(page, ["Katherine Johnson"])
    expect(page).to_have_url(re.compile(r"[?&]status=contacted(&|$)"))

    page.go_back()  # the request open, the list unfiltered
    expect(page).to_have_url(re.compile(rf"/admin/followups/{grace_id}(\?|$)"))
    expect(page).not_to_have_url(re.compile(r"status=contacted"))
    expect(page.locator("#status-filter")).to_have_value("")
    expect_listed(page, ALL)
    expect(page.locator("#followup-detail #detail-name")).to_have_text("Grace Hopper")
    expect_detail_placed(page, "Grace Hopper", viewport)

    page.go_back()  # the list as it was first shown
    expect(page).to_have_url(re.compile(r"/admin/followups(\?|$)"))
    expect_listed(page, ALL)
    expect(page.locator("#followup-detail")).to_have_count(0)

    page.go_forward()
    expect(page).to_have_url(re.compile(rf"/admin/followups/{grace_id}(\?|$)"))
    expect(page.locator("#followup-detail #detail-name")).to_have_text("Grace Hopper")
    expect_detail_placed(page, "Grace Hopper", viewport)

    page.go_forward()
    expect(page).to_have_url(re.compile(r"[?&]status=contacted(&|$)"))
    expect_listed(page, ["Katherine Johnson"])
    expect(page.locator("#status-filter")).to_have_value("contacted")
    name = "phone" if is_phone(viewport) else "desktop"
    screenshot(page, f"followups-history-{name}")


@pytest.mark.parametrize("tried", ["contacted", "cancelled"])
def test_two_tabs_a_change_refused_after_the_other_tab_resolved_shows_it_resolved_everywhere(
    page: Page, seeded, tried
):
    grace_id = seeded["Grace Hopper"]
    login(page)
    open_card(page, "Grace Hopper")
    expect(page.locator("#pending-badge")).to_have_text("3 pending")
    not_hearing_of_changes(page)

    tab_b = second_tab(page, f"/admin/followups/{grace_id}")
    tab_b.select_option("#status-select", "contacted")
    expect(tab_b.locator("#status-select")).to_have_value("contacted")
    expect(detail(tab_b).locator(".detail-badges .status-pill")).to_have_text("Contacted")
    wait_until_settled(tab_b)
    tab_b.select_option("#status-select", "resolved")
    expect(detail(tab_b).locator(".detail-badges .status-pill")).to_have_text("Resolved")

    # Tab A still shows Pending and offers Contacted and Cancelled.
    mark_page(page)
    page.select_option("#status-select", tried)

    refusal = detail(page).get_by_role("alert")
    expect(refusal).to_contain_text("Status not changed.")
    expect(refusal).to_contain_text("This request is resolved, a final status")
    expect(detail(page).locator(".detail-badges .status-pill")).to_have_text("Resolved")
    expect(page.locator("#status-select")).to_have_count(0)
    expect(detail(page).locator(".final-status")).to_have_text("Resolved is a final status.")
    expect(detail(page).locator("#timeline .entry-status")).to_have_count(2)
    expect(detail(page).locator("#timeline .entry-status").first).to_contain_text(
        "Olivia Owner moved it from Contacted to Resolved"
    )
    expect(card(page, "Grace Hopper").locator(".status-pill")).to_have_text("Resolved")
    expect(page.locator("#pending-badge")).to_have_text("2 pending")
    expect_not_reloaded(page)
    if tried == "contacted":
        screenshot(page, "followups-refused-status-change")


def edit_note(page: Page, text: str) -> None:
    """Open the Edit of the newest note, type `text` over it, save."""
    note = detail(page).locator("#timeline .entry-note").first
    note.locator("summary", has_text="Edit").click()
    note.locator("textarea").fill(text)
    note.get_by_role("button", name="Save", exact=True).click()


def test_two_tabs_a_note_edited_from_a_stale_tab_is_refused_showing_both_texts(page: Page, seeded):
    grace_id = seeded["Grace Hopper"]
    login(page)
    open_card(page, "Grace Hopper")
    page.fill("#note-text", "Called her: no answer.")
    page.click("#add-note")
    note_text = detail(page).locator("#timeline .entry-note .note-text")
    expect(note_text).to_have_text("Called her: no answer.")
    not_hearing_of_changes(page)

    tab_b = second_tab(page, f"/admin/followups/{grace_id}")
    theirs = "Called her at 10:00: she wants the quote <b>by Friday</b>."
    edit_note(tab_b, theirs)
    expect(detail(tab_b).locator("#timeline .entry-note .note-text")).to_have_text(theirs)

    mine = "Sent the renewal form.\nAsk about the second licence."
    edit_note(page, mine)

    conflict = page.locator("#note-conflict")
    expect(conflict).to_have_attribute("role", "alert")
    expect(conflict).to_contain_text("Someone changed this note since you read it")
    expect(note_text).to_have_text(theirs)  # the note as it is now
    expect(detail(page).locator("#timeline .entry-note textarea")).to_have_value(mine)
    screenshot(page, "followups-note-conflict")

    # Merge and save again: accepted.
    merged = f"{theirs}\n{mine}"
    note = detail(page).locator("#timeline .entry-note").first
    note.locator("textarea").fill(merged)
    note.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#note-conflict")).to_have_count(0)
    expect(note_text).to_have_text(merged)
    page.reload()
    expect(note_text).to_have_text(merged)


UNVERIFIED_TIP = (
    "Unverified: nobody has proved this email is the customer's: it was typed "
    "in, or sent by your website without a signature over it (the widget's "
    "signature covers the customer id only)."
)
VERIFIED_TIP = (
    "Verified: the email is the customer's own: they opened a login link sent "
    "to it and typed the code their chat showed."
)


def test_cards_and_detail_say_verified_or_unverified_with_what_it_means(
    page: Page, live_server, seeded
):
    live_server.mark_identity_verified(seeded["Alan Turing"])
    login(page)
    for name, label, tip in (
        ("Alan Turing", "Verified", VERIFIED_TIP),
        ("Grace Hopper", "Unverified", UNVERIFIED_TIP),
    ):
        badge = card(page, name).locator(f".badge-{label.lower()}")
        expect(badge).to_be_visible()
        expect(badge).to_have_attribute("title", tip)
        # Screen readers get the same words as the mouse's tooltip.
        expect(badge).to_have_text(f"{label}{tip.removeprefix(label)}")
        open_card(page, name)
        detail_badge = detail(page).locator(f".detail-badges .badge-{label.lower()}")
        expect(detail_badge).to_have_attribute("title", tip)
        expect(detail_badge).to_have_text(f"{label}{tip.removeprefix(label)}")
    expect(cards(page).locator(".badge-verified")).to_have_count(1)
    expect(cards(page).locator(".badge-unverified")).to_have_count(3)
    open_card(page, "Alan Turing")
    screenshot(page, "followups-verified-badges")


def test_the_detail_shows_status_notes_and_history_before_notifications(page: Page, seeded):
    login(page)
    open_card(page, "Grace Hopper")
    titles = detail(page).locator("h3")
    expect(titles).to_have_text(
        [
            "Contact Information",
            "Reason for Follow-Up",
            "Status",
            "Assignee",
            "Priority",
            "Timestamps",
            "Activity",
            "Notifications",
        ],
        ignore_case=True,
    )


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_each_pending_card_shows_its_promise_clock(page: Page, seeded, viewport):
    size = "phone" if viewport is PHONE else "desktop"
    made = utcnow()
    pending = ("Ada Lovelace", "Alan Turing", "Grace Hopper")
    with time_machine.travel(made + timedelta(hours=19), tick=True):
        staff_login(page, "/admin/followups")
        for name in pending:
            expect(card(page, name).locator(".badge-at_risk")).to_have_text(
                re.compile(r"^Due in (4 h 5\d min|5 h)$")
            )
        expect(card(page, "Katherine Johnson").locator(".badge-due")).to_have_count(0)
        screenshot(page, f"followups-at-risk-{size}")
    with time_machine.travel(made + timedelta(hours=26), tick=True):
        page.goto("/admin/followups?overdue=1")
        for name in pending:
            expect(card(page, name).locator(".badge-overdue")).to_have_text(
                re.compile(r"^Overdue by 2 h( \d+ min)?$")
            )
        card(page, "Grace Hopper").locator(".card-link").click()
        expect(page.locator("#followup-detail .badge-overdue")).to_be_visible()
        screenshot(page, f"followups-overdue-{size}")
