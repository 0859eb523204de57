"""How forms mark what is wrong and how settings switch on, in real Chromium.

- An invalid phone is marked exactly like an invalid email: red border, aria-invalid
  and its message, in every form that has a phone.
- In an AI employee's working hours only the wrong time turns red, not its whole day.
- Settings that turn something on are switches (role="switch", drawn as a track and
  knob), which the keyboard works like any checkbox.

Screenshots go to test-artifacts/screens/ (`screenshot`).
"""

import pytest
from playwright.sync_api import Locator, Page, expect

from followup.extensions import db
from followup.models import Tenant
from followup.services import agents
from tests.helpers.browser import screenshot, staff_login

pytestmark = pytest.mark.e2e

DANGER = "rgb(180, 35, 24)"  # --danger, #b42318, in both stylesheets
BAD_EMAIL = "ada@example.com@example.org"
BAD_PHONE = "12345"


def border(field: Locator) -> dict:
    """The top border as the browser draws it (the same on every side here)."""
    return field.evaluate(
        """el => { const s = getComputedStyle(el);
                   return {color: s.borderTopColor, style: s.borderTopStyle,
                           width: s.borderTopWidth}; }"""
    )


def expect_marked(field: Locator, message: str) -> None:
    """Red, aria-invalid, and pointing to a visible message that says `message`."""
    expect(field).to_have_attribute("aria-invalid", "true")
    error_id = next(
        i for i in field.get_attribute("aria-describedby").split() if i.endswith("-error")
    )
    expect(field.page.locator(f"#{error_id}")).to_be_visible()
    expect(field.page.locator(f"#{error_id}")).to_contain_text(message)
    assert border(field) == {"color": DANGER, "style": "solid", "width": "1px"}


def add_agent(live_server, **fields) -> int:
    with live_server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        agent = agents.create_agent(
            tenant.id, {"name": "Alex", "role": "Support", "tone": "Friendly"}
        )
        for key, value in fields.items():
            setattr(agent, key, value)
        db.session.commit()
        agent_id = agent.id
        db.session.remove()
    return agent_id


def widget_key(live_server) -> str:
    with live_server.app.app_context():
        key = db.session.query(Tenant).filter_by(slug="acme").one().widget_public_key
        db.session.remove()
    return key


# --- (a) a phone is marked like an email ---------------------------------------------------


def test_widget_form_marks_a_bad_phone_like_a_bad_email(page: Page, live_server, seeded):
    page.goto(f"/w/{widget_key(live_server)}")
    page.get_by_role("button", name="Contact us").click()
    form = page.locator("#panel form")
    form.get_by_label("Name").fill("Ada Lovelace")
    form.get_by_label("Email").fill(BAD_EMAIL)
    form.get_by_label("Phone").fill(BAD_PHONE)
    form.get_by_label("Reason").fill("A callback about the invoice.")
    form.get_by_role("button", name="Send request").click()

    email, phone = form.get_by_label("Email"), form.get_by_label("Phone")
    expect_marked(email, "Email: enter an address like name@example.com.")
    expect_marked(phone, "Phone: enter the number with its country code")
    assert border(phone) == border(email)
    expect(form.get_by_label("Name")).not_to_have_attribute("aria-invalid", "true")
    screenshot(page, "widget-form-bad-email-and-phone")


def test_settings_mark_a_bad_contact_phone_like_a_bad_email(page: Page, live_server, seeded):
    staff_login(page, "/admin/settings")
    section = page.locator("#business-settings")
    section.get_by_label("Contact email").fill(BAD_EMAIL)
    section.get_by_label("Contact phone").fill(BAD_PHONE)
    section.get_by_role("button", name="Save business details").click()

    email, phone = section.get_by_label("Contact email"), section.get_by_label("Contact phone")
    expect_marked(email, "Contact email: enter an address like name@example.com.")
    expect_marked(phone, "Contact phone: enter the number with its country code")
    assert border(phone) == border(email)
    screenshot(page, "settings-bad-email-and-phone")


def test_agent_channels_mark_a_bad_sms_number(page: Page, live_server, seeded):
    agent_id = add_agent(live_server)
    staff_login(page, f"/admin/agents/{agent_id}/channels")
    page.get_by_label("SMS number").fill(BAD_PHONE)
    page.get_by_role("button", name="Save channels").click()
    expect_marked(page.get_by_label("SMS number"), "SMS number: enter the number with its")
    screenshot(page, "agent-channels-bad-sms-number")


# --- (b) only the wrong time turns red -----------------------------------------------------


def test_only_the_wrong_time_of_a_day_turns_red(page: Page, live_server, seeded):
    agent_id = add_agent(live_server)
    staff_login(page, f"/admin/agents/{agent_id}/working-hours")
    monday = page.locator("#day-mon")
    page.get_by_role("button", name="Add an opening interval to Monday").click()
    expect(monday.locator(".interval")).to_have_count(2)
    monday.get_by_label("Monday opening 1 until").fill("12:00")
    monday.get_by_label("Monday opening 2 from").fill("13:00")
    monday.get_by_label("Monday opening 2 until").fill("11:00")
    page.get_by_role("button", name="Save working hours").click()

    wrong = monday.get_by_label("Monday opening 2 until")
    expect_marked(wrong, "Monday: the end (11:00) must be after the start (13:00).")
    right = [
        monday.get_by_label(f"Monday opening {n} {end}")
        for n, end in ((1, "from"), (1, "until"), (2, "from"))
    ]
    for field in right:
        expect(field).not_to_have_attribute("aria-invalid", "true")
        assert border(field)["color"] != DANGER
    tuesday = page.locator("#day-tue").locator(".time-input").first
    assert border(tuesday) == border(right[0])  # the rest of the week is as before
    screenshot(page, "working-hours-one-wrong-time")


# --- (d) settings that turn something on are switches -------------------------------------


def switch_look(switch: Locator) -> dict:
    return switch.evaluate(
        """el => { const s = getComputedStyle(el), r = el.getBoundingClientRect();
                   return {appearance: s.appearance, wide: r.width > r.height * 1.5,
                           track: s.backgroundColor}; }"""
    )


def expect_switch_works(page: Page, switch: Locator) -> None:
    """A switch drawn as a track and knob, that the keyboard turns on and off."""
    expect(switch).to_be_visible()
    look = switch_look(switch)
    assert look["appearance"] == "none" and look["wide"], look
    was_on = switch.is_checked()
    switch.focus()
    page.keyboard.press("Space")
    expect(switch).to_be_checked(checked=not was_on)
    assert switch_look(switch)["track"] != look["track"]  # on and off look different
    page.keyboard.press("Space")
    expect(switch).to_be_checked(checked=was_on)


SETTINGS_PAGES = (
    "/admin/followups/settings",
    "/admin/settings",
    "/admin/agents/{agent}/channels",
    "/admin/agents/{agent}/working-hours",
    "/admin/agents/{agent}/auto-followup",
)


def test_enable_settings_are_keyboard_operable_switches(page: Page, live_server, seeded):
    agent_id = add_agent(live_server, autofollowup_enabled=True)
    page.emulate_media(reduced_motion="reduce")  # no slide: the colour is final at once

    staff_login(page, "/admin/followups/settings")
    expect_switch_works(page, page.get_by_role("switch", name="Enable Follow-Up Requests"))
    confirmation = page.get_by_role("switch", name="Send customers a confirmation email")
    expect_switch_works(page, confirmation)
    screenshot(page, "switches-followup-settings")

    page.goto("/admin/settings")
    expect_switch_works(page, page.get_by_role("switch", name="Twilio SMS notifications"))

    page.goto(f"/admin/agents/{agent_id}/channels")
    widget = page.get_by_role("switch", name="This employee answers the website chat")
    expect_switch_works(page, widget)

    page.goto(f"/admin/agents/{agent_id}/working-hours")
    expect_switch_works(page, page.locator("#day-sat").get_by_role("switch", name="Day off"))
    screenshot(page, "switches-working-hours")

    # The Auto Follow-up switch saves as it changes: Space turns it off, for good.
    page.goto(f"/admin/agents/{agent_id}/auto-followup")
    enabled = page.get_by_role("switch", name="Enable Auto Follow-up")
    assert switch_look(enabled)["appearance"] == "none" and switch_look(enabled)["wide"]
    enabled.focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("status")).to_contain_text("Auto Follow-up disabled.")
    expect(page.get_by_role("switch", name="Enable Auto Follow-up")).not_to_be_checked()
    screenshot(page, "switches-auto-followup")

    # No bare checkbox is left in these settings: each is a switch. (The Follow-Ups page
    # around its settings panel has the list's filter and selection checkboxes.)
    for url in SETTINGS_PAGES:
        page.goto(url.format(agent=agent_id))
        settings = page.locator("#settings-panel") if "followups" in url else page
        expect(settings.locator('input[type="checkbox"]:not([role="switch"])')).to_have_count(0)
