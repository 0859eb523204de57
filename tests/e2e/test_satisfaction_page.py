"""The customer's "How did we do?" page in Chromium: rated with the keyboard alone
(Tab into the choices, arrows to 4, Tab to the comment, Enter on the button), checked
by axe before and after, on a computer and on a phone."""

import pytest
from playwright.sync_api import Page, expect

from followup.extensions import db, mail
from followup.models import FollowUpRequest, SatisfactionRating
from followup.services import followups
from tests.helpers.accessibility import assert_accessible
from tests.helpers.browser import ALREADY_CONTACTED, screenshot, staff_login
from tests.helpers.satisfaction import STAFF, link_path

VIEWPORTS = [
    pytest.param({"width": 1366, "height": 900}, id="desktop"),
    pytest.param({"width": 390, "height": 844}, id="phone"),
]


def resolved_link(live_server, followup_id: int) -> str:
    """Resolve the request as staff do; the path of the link the customer was emailed."""
    with live_server.app.app_context():
        followup = db.session.get(FollowUpRequest, followup_id)
        with mail.record_messages() as sent:
            followups.change_status(followup.tenant_id, followup_id, "resolved", STAFF)
        db.session.remove()
    (message,) = sent
    return link_path(message.body)


def stored_rating(live_server) -> tuple[int, str] | None:
    with live_server.app.app_context():
        rating = db.session.scalar(db.select(SatisfactionRating))
        db.session.remove()
        return (rating.score, rating.comment) if rating else None


@pytest.mark.parametrize("viewport", VIEWPORTS)
# Opening the used link again on purpose: its page answers 409, which the browser reports.
@pytest.mark.allow_console_errors("HTTP 409 for the document")
def test_a_customer_rates_with_the_keyboard_alone(
    page: Page, live_server, seeded, viewport, request
):
    size = request.node.callspec.id
    path = resolved_link(live_server, seeded[ALREADY_CONTACTED])
    page.goto(path)
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    choices = page.get_by_role("group", name="Your rating").get_by_role("radio")
    expect(choices).to_have_count(5)
    assert_accessible(page, f"the rating page ({size})")
    screenshot(page, f"satisfaction-question-{size}")

    page.keyboard.press("Tab")  # into the group: its first choice
    expect(page.get_by_role("radio", name="1 — Very poor")).to_be_focused()
    for _ in range(3):
        page.keyboard.press("ArrowDown")  # moves and chooses, as radio groups do
    expect(page.get_by_role("radio", name="4 — Good")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Comment (optional)")).to_be_focused()
    page.keyboard.type("Quick answer, friendly people.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send my rating")).to_be_focused()
    screenshot(page, f"satisfaction-chosen-{size}")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert_accessible(page, f"the thank-you page ({size})")
    screenshot(page, f"satisfaction-thanks-{size}")
    assert stored_rating(live_server) == (4, "Quick answer, friendly people.")

    page.goto(path)
    expect(page.get_by_text("You already rated this request — thank you.")).to_be_visible()


def test_staff_see_the_rating_on_the_request(page: Page, live_server, seeded):
    followup_id = seeded[ALREADY_CONTACTED]
    page.goto(resolved_link(live_server, followup_id))
    page.get_by_role("radio", name="2 — Poor").check()
    page.get_by_label("Comment (optional)").fill("Took <b>three</b> calls.")
    page.get_by_role("button", name="Send my rating").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()

    staff_login(page, f"/admin/followups/{followup_id}")
    rating = page.locator("#satisfaction-rating")
    expect(rating.locator(".rating-score")).to_have_text("2 — Poor")
    expect(rating.locator(".rating-comment")).to_have_text("Took <b>three</b> calls.")
    expect(page.locator("#timeline")).to_contain_text("The customer rated it 2 — Poor")
    screenshot(page, "satisfaction-on-the-request")
