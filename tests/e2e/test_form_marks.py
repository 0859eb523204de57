"""How forms mark what is wrong and how settings switch on, in real Chromium.

- An invalid phone is marked exactly like an invalid email: red border, aria-invalid
  and its message, in every form that has a phone.
- In an AI employee's working hours only the wrong time turns red, not its whole day.
- Settings that turn something on are switches (role="switch", drawn as a track and
  knob), which the keyboard works like any checkbox.

Screenshots go to test-artifacts/screens/.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from followup.extensions import db
from followup.models import Tenant
from followup.services import agents
from tests.conftest import PASSWORD
from tests.e2e.conftest import STAFF_EMAIL

pytestmark = pytest.mark.e2e

SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
DANGER = "rgb(180, 35, 24)"  # --danger, #b42318, in both stylesheets
BAD_EMAIL = "ada@example.com@example.org"
BAD_PHONE = "12345"


@pytest.fixture(autouse=True)
def no_script_errors(page: Page):
    """Whatever the page does, no console error and no CSP violation. Chromium logs
    each refused form (422) as "Failed to load resource": those are what is tested; and
    the widget's page, opened on its own here, has no icon (in a frame none is asked)."""
    problems = []

    def on_console(message) -> None:
        refused_form = "the server responded with a status of 422" in message.text
        no_icon = message.location.get("url", "").endswith("/favicon.ico")
        if message.type == "error" and not (refused_form or no_icon):
            problems.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield
    assert problems == []


def shoot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True, animations="disabled")


def login(page: Page, target: str) -> None:
    page.goto(target)
    page.fill("#email", STAFF_EMAIL)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))
    page.wait_for_load_state("load")


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
    shoot(page, "widget-form-bad-email-and-phone")


def test_settings_mark_a_bad_contact_phone_like_a_bad_email(page: Page, live_server, seeded):
    login(page, "/admin/settings")
    section = page.locator("#business-settings")
    section.get_by_label("Contact email").fill(BAD_EMAIL)
    section.get_by_label("Contact phone").fill(BAD_PHONE)
    section.get_by_role("button", name="Save business details").click()

    email, phone = section.get_by_label("Contact email"), section.get_by_label("Contact phone")
    expect_marked(email, "Contact email: enter an address like name@example.com.")
    expect_marked(phone, "Contact phone: enter the number with its country code")
    assert border(phone) == border(email)
    shoot(page, "settings-bad-email-and-phone")


def test_agent_channels_mark_a_bad_sms_number(page: Page, live_server, seeded):
    agent_id = add_agent(live_server)
    login(page, f"/admin/agents/{agent_id}/channels")
    page.get_by_label("SMS number").fill(BAD_PHONE)
    page.get_by_role("button", name="Save channels").click()
    expect_marked(page.get_by_label("SMS number"), "SMS number: enter the number with its")
    shoot(page, "agent-channels-bad-sms-number")


# --- (b) only the wrong time turns red -----------------------------------------------------


def test_only_the_wrong_time_of_a_day_turns_red(page: Page, live_server, seeded):
    agent_id = add_agent(live_server)
    login(page, f"/admin/agents/{agent_id}/working-hours")
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
    shoot(page, "working-hours-one-wrong-time")


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

    login(page, "/admin/followups/settings")
    expect_switch_works(page, page.get_by_role("switch", name="Enable Follow-Up Requests"))
    confirmation = page.get_by_role("switch", name="Send customers a confirmation email")
    expect_switch_works(page, confirmation)
    shoot(page, "switches-followup-settings")

    page.goto("/admin/settings")
    expect_switch_works(page, page.get_by_role("switch", name="Twilio SMS notifications"))

    page.goto(f"/admin/agents/{agent_id}/channels")
    widget = page.get_by_role("switch", name="This employee answers the website chat")
    expect_switch_works(page, widget)

    page.goto(f"/admin/agents/{agent_id}/working-hours")
    expect_switch_works(page, page.locator("#day-sat").get_by_role("switch", name="Day off"))
    shoot(page, "switches-working-hours")

    # The Auto Follow-up switch saves as it changes: Space turns it off, for good.
    page.goto(f"/admin/agents/{agent_id}/auto-followup")
    enabled = page.get_by_role("switch", name="Enable Auto Follow-up")
    assert switch_look(enabled)["appearance"] == "none" and switch_look(enabled)["wide"]
    enabled.focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("status")).to_contain_text("Auto Follow-up disabled.")
    expect(page.get_by_role("switch", name="Enable Auto Follow-up")).not_to_be_checked()
    shoot(page, "switches-auto-followup")

    # No bare checkbox is left on these pages: each is a switch.
    for url in SETTINGS_PAGES:
        page.goto(url.format(agent=agent_id))
        expect(page.locator('input[type="checkbox"]:not([role="switch"])')).to_have_count(0)
