"""The System page in real Chromium, at desktop and at phone size: the checks load
after the page, then the owner sends a test email and a test SMS (SMS is not set up
on this server: said in our words), retries a failed notification with "Retry all",
and checks again, all in place; the page, and Settings, say where the widget was last
seen."""

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from followup.extensions import db
from followup.models import DeliveryState, Notification, Tenant
from followup.queue import SweepKind, record_sweep
from followup.services import snippet
from tests.helpers.browser import SCREENS, screenshot, staff_login

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


def troubles(live_server) -> None:
    """One notification failed for good, a sweep that ran, the widget seen on a site."""
    with live_server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        tenant.contact_phone = "+14155550123"
        db.session.commit()
        row = db.session.query(Notification).filter_by(channel="staff_email").first()
        db.session.execute(
            update(Notification)
            .where(Notification.id == row.id)
            .values(
                state=DeliveryState.FAILED,
                attempts=8,
                last_error="The mail server refused the connection (mail.acme.example:25).",
            )
        )
        db.session.commit()
        record_sweep(SweepKind.NOTIFICATIONS)
        snippet.record_seen(tenant, "https://shop.example", None)
        db.session.remove()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_owner_checks_the_system_and_sends_test_messages(
    page: Page, live_server, seeded, viewport
):
    size = "phone" if viewport is PHONE else "desktop"
    troubles(live_server)
    staff_login(page, "/admin/system")
    expect(page.get_by_role("heading", name="System", level=1)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main").get_by_role("link", name="System")
    expect(nav).to_have_attribute("aria-current", "page")

    checks = page.locator("#system-checks")
    expect(checks.get_by_role("button", name="Check again")).to_be_visible()  # loaded after
    expect(checks.locator('[data-verdict="OK"]', has_text="Redis")).to_be_visible()

    sweeps = page.locator("#system-sweeps")
    expect(sweeps.locator('[data-sweep="notifications"]')).to_contain_text(re.compile(r"\d+ s ago"))
    # Every kind has its row (other test apps share this Redis: their runs show too).
    expect(sweeps.locator("[data-sweep]")).to_have_count(5)
    expect(page.locator("#system-snippet")).to_contain_text("Last seen on https://shop.example at")
    screenshot(page, f"system-{size}")

    page.get_by_role("button", name="Send a test email").click()
    expect(page.locator("#test-email")).to_contain_text(
        re.compile(r"Sent to owner@acme\.example at \d\d:\d\d\.")
    )
    page.get_by_role("button", name="Send a test SMS").click()
    expect(page.locator("#test-sms")).to_contain_text(
        "Not sent to +1 415-555-0123: SMS is not configured on this server"
    )

    trouble = page.locator("#system-notifications")
    expect(trouble.locator(".trouble-count")).to_have_text("1")
    trouble.get_by_role("button", name="Retry all").click()
    expect(trouble).to_contain_text("1 notification sent again.")
    expect(trouble).to_contain_text("None: every notification went out")

    checks.get_by_role("button", name="Check again").click()
    expect(checks.get_by_role("button", name="Check again")).to_be_enabled()
    expect(checks.locator('[data-verdict="OK"]', has_text="Redis")).to_be_visible()
    screenshot(page, f"system-after-{size}")

    page.goto("/admin/settings")
    seen = page.locator("#widget-settings #snippet-seen")
    expect(seen).to_contain_text(re.compile(r"Last seen on https://shop\.example at\s+\d\d:\d\d\."))
    expect(seen).to_contain_text("is not one of your allowed website origins")
    seen.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENS / f"system-settings-seen-{size}.png"))
