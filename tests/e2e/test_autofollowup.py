"""Auto Follow-up in real Chromium: a staff member builds a chain on an AI employee's
tab, a website visitor chats in the widget and goes silent, the reminder arrives in
the open widget, and the staff see it on the dashboard and in the chat.

The widget side reuses the widget tests' servers and helpers (the app answering
through the local fake model, the shop's website on another origin). The reminder
is made due by moving the chat's chain into the past in the database, then the
engine's own sweep runs it from the test thread, as the worker's cron would.
"""

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from followup.clock import utcnow
from followup.extensions import db
from followup.jobs.reminders import sweep_due_reminders
from followup.models import Agent, Chat, FollowUpRequest, Tenant
from followup.services import agents, chats
from tests.helpers.browser import screenshot, staff_login
from tests.helpers.embedded_widget import (
    DESKTOP,
    host_page,
    last_agent_text,
    open_widget,
    send,
    signed_customer,
)

pytestmark = pytest.mark.e2e


# The widget tests' servers, website and browser (tests/e2e/conftest.py), at their size.
@pytest.fixture
def viewport() -> dict:
    return DESKTOP


SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "autofollowup"
FIRST_INSTRUCTION = "Gently remind that we're available. Ask if there are any remaining questions."
SECOND_INSTRUCTION = "Ask if the question is still relevant"
REMINDER = "Hi Maria, just checking in: are the oak tables still on your mind?"


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, animations="disabled")


@pytest.fixture
def alex(shop, widget_app_server) -> int:
    """The shop's AI employee, answering the website chat; its id."""
    with widget_app_server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(widget_public_key=shop.public_key).one()
        agent = agents.create_agent(
            tenant.id,
            {"name": "Alex", "role": "Furniture advisor", "tone": "Warm and brief"},
        )
        agent_id = agent.id
        db.session.remove()
    return agent_id


@pytest.fixture
def staff_page(chromium: Browser, shop, alex) -> Iterator[Page]:
    context = chromium.new_context(base_url=shop.app_url, viewport=DESKTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    staff_login(page, "/admin/agents")
    yield page
    context.close()


def step_card(page: Page, number: int):
    return page.locator("#step-list > .step-card").nth(number - 1)


def settled(page: Page) -> None:
    """htmx wires new content up when it settles (20 ms after the swap); a key pressed
    before would submit the form the old way (it still works, with a page load)."""
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def day(page: Page, name: str):
    return page.locator(f"#day-{name}")


def edit_working_hours(page: Page) -> None:
    """Presets and rows change the form in place; only Save stores it. It ends 24/7
    again (in Berlin), so the reminder later is not held back by closed hours."""
    page.get_by_role("button", name="Mon–Fri 9:00–18:00").click()  # noqa: RUF001
    expect(page.get_by_role("status")).to_contain_text("Preset filled in.")
    expect(day(page, "sat").get_by_label("Day off")).to_be_checked()
    expect(day(page, "sat").locator(".day-hours")).to_be_hidden()
    expect(day(page, "mon").get_by_label("Monday opening 1 from")).to_have_value("09:00")
    page.get_by_role("button", name="Add an opening interval to Monday").click()
    expect(day(page, "mon").locator(".interval")).to_have_count(2)
    day(page, "mon").get_by_label("Monday opening 2 from").fill("19:00")
    day(page, "mon").get_by_label("Monday opening 2 until").fill("18:30")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name="Save working hours").click()
    expect(day(page, "mon").locator(".field-error")).to_contain_text("must be after the start")
    shoot(page, "tab-working-hours-error")
    page.get_by_role("button", name="24/7").click()
    expect(day(page, "sat").get_by_label("Day off")).not_to_be_checked()
    page.get_by_role("button", name="Add special date").click()
    page.get_by_label("Special date 1", exact=True).fill("2026-12-25")
    page.get_by_role("button", name="Save working hours").click()
    expect(page.get_by_role("status")).to_have_text("Working hours saved.")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    expect(page.locator("#special-0 .closed-note")).to_be_visible()
    shoot(page, "tab-working-hours")


def build_the_chain(page: Page, agent_id: int) -> None:
    """Enable Auto Follow-up and add two steps, with a mistake fixed on the way and a
    reorder done with the keyboard; every change in place, without reloading."""
    page.get_by_role("link", name="Alex").click()
    expect(page.locator("#agent-name")).to_have_text("Alex")
    shoot(page, "tab-persona")
    page.get_by_role("link", name="Working Hours", exact=True).click()
    # The live poll puts the pending count in front, "(3) ", whenever it has run.
    expect(page).to_have_title(re.compile(r"^(\(\d+\) )?Alex · Working Hours · Followup$"))
    edit_working_hours(page)
    page.get_by_role("link", name="Channels", exact=True).click()
    expect(page.locator('.tab[aria-current="page"]')).to_have_text("Channels")
    shoot(page, "tab-channels")
    page.get_by_role("link", name="Auto Follow-up", exact=True).last.click()
    expect(page).to_have_url(re.compile(rf"/admin/agents/{agent_id}/auto-followup$"))
    page.evaluate("window.__noReload = true")

    switch = page.get_by_role("switch", name="Enable Auto Follow-up")
    expect(switch).not_to_be_checked()
    switch.check()
    expect(page.locator("#af-toggle .saved")).to_have_text("Auto Follow-up enabled.")
    expect(page.get_by_role("switch", name="Enable Auto Follow-up")).to_be_focused()

    # Step 1: a zero delay is refused beside the field; then 0 h 1 min is saved.
    page.get_by_role("link", name="+ Add step").click()
    card = step_card(page, 1)
    expect(card.get_by_label("Hours")).to_be_focused()
    card.get_by_label("Hours").fill("0")
    card.get_by_label("Minutes").fill("0")
    card.get_by_label("Message instruction").fill(FIRST_INSTRUCTION)
    card.get_by_role("button", name="Add step 1").click()
    expect(card.locator(".field-error")).to_have_text("Delay: make it at least 1 minute.")
    expect(card.get_by_label("Minutes")).to_have_attribute("aria-invalid", "true")
    expect(card.get_by_label("Message instruction")).to_have_value(FIRST_INSTRUCTION)
    shoot(page, "tab-auto-followup-error")
    card.get_by_label("Minutes").fill("1")
    card.get_by_role("button", name="Add step 1").click()
    expect(step_card(page, 1).get_by_role("heading", name="Step 1")).to_be_focused()
    expect(step_card(page, 1).get_by_role("button", name="Save step")).to_be_visible()

    # Step 2, then moved above step 1 and back with the keyboard; the focus follows it.
    page.get_by_role("link", name="+ Add step").click()
    card = step_card(page, 2)
    card.get_by_label("Hours").fill("24")
    card.get_by_label("Message instruction").fill(SECOND_INSTRUCTION)
    card.get_by_label("Run once per chat").check()
    card.get_by_role("button", name="Add step 2").click()
    # Saved: the list is renumbered and the keyboard lands on the new step's title.
    expect(step_card(page, 2).get_by_role("heading", name="Step 2")).to_be_focused()
    expect(page.locator("#step-list > .step-card")).to_have_count(2)
    settled(page)
    page.get_by_role("button", name="Move step 2 up").focus()
    page.keyboard.press("Enter")
    expect(step_card(page, 1).get_by_label("Message instruction")).to_have_value(SECOND_INSTRUCTION)
    expect(page.get_by_role("button", name="Move step 1 up")).to_be_focused()
    settled(page)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Move step 1 down")).to_be_focused()
    page.keyboard.press("Enter")
    expect(step_card(page, 1).get_by_label("Message instruction")).to_have_value(FIRST_INSTRUCTION)
    expect(step_card(page, 2).get_by_label("Run once per chat")).to_be_checked()
    expect(page.get_by_role("button", name="Move step 2 down")).to_be_focused()
    expect(page.locator(".step-count")).to_have_text("2 of 20 steps")
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"
    shoot(page, "tab-auto-followup")


def chain_of(server, agent_id: int, step_index: int = 0) -> tuple[Chat, list[int]]:
    """The agent's one chat once its chain waits for step `step_index`, and its steps.
    The chain is planned just after the answer is saved, while the widget shows it:
    poll the database for a few seconds."""
    deadline = time.monotonic() + 5
    while True:
        chat, step_ids = _chat_and_steps(server, agent_id)
        if chat.chain_step_id == step_ids[step_index] or time.monotonic() > deadline:
            return chat, step_ids
        time.sleep(0.05)


def _chat_and_steps(server, agent_id: int) -> tuple[Chat, list[int]]:
    with server.app.app_context():
        agent = db.session.get(Agent, agent_id)
        chat = db.session.query(Chat).filter_by(agent_id=agent_id).one()
        db.session.expunge(chat)
        step_ids = [step.id for step in agent.steps]
        db.session.remove()
    return chat, step_ids


def make_the_reminder_due(server, chat_id: int) -> int:
    """The visitor has been silent for two minutes: step 1 (one minute) is overdue.
    Then the sweep runs, as the worker's cron would; returns how many it queued."""
    with server.app.app_context():
        chat = db.session.get(Chat, chat_id)
        chat.last_client_message_at -= timedelta(minutes=2)
        chat.chain_due_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        queued = sweep_due_reminders()
        db.session.remove()
    return queued


def test_staff_build_a_chain_and_the_reminder_arrives_in_the_open_widget(
    staff_page, browser_page, alex, shop, host_site, fake_model, widget_app_server
):
    build_the_chain(staff_page, alex)
    staff_page.get_by_role("link", name="Chats", exact=True).click()
    expect(staff_page.locator(".empty-list")).to_contain_text("They appear here when a customer")

    # A visitor chats on the shop's website and gets the AI's answer.
    widget = open_widget(
        browser_page, host_site.publish("/", host_page(shop, signed_customer(shop)))
    )
    send(widget, "Do you have oak tables?")
    expect(last_agent_text(widget)).to_have_text("You said: Do you have oak tables?")
    chat, (first_step, second_step) = chain_of(widget_app_server, alex)
    assert chat.chain_step_id == first_step
    assert chat.chain_due_at - chat.last_client_message_at == timedelta(minutes=1)

    # The staff see it on the dashboard and in the employee's chats.
    staff_page.get_by_role("link", name="Auto Follow-up", exact=True).first.click()
    expect(staff_page).to_have_url(re.compile(r"/admin/auto-followup$"))
    row = staff_page.locator(f'tr[data-chat-id="{chat.id}"]')
    expect(row).to_contain_text("Maria Garcia")
    expect(row).to_contain_text("Alex")
    expect(row).to_contain_text("Step 1")
    staff_page.get_by_placeholder("Search by name, agent, or client").fill("nobody")
    expect(staff_page.locator(".empty-list")).to_contain_text("No active chains match")
    staff_page.get_by_placeholder("Search by name, agent, or client").fill("maria")
    expect(row).to_be_visible()
    shoot(staff_page, "dashboard")

    # The visitor stays silent; the reminder falls due and is sent.
    fake_model.behaviour.reply_text = REMINDER
    assert make_the_reminder_due(widget_app_server, chat.id) == 1
    # The open widget picks it up by itself (it polls), without a reload.
    expect(
        last_agent_text(browser_page.frame_locator('iframe[title="Chat with us"]'))
    ).to_have_text(REMINDER, timeout=15_000)
    reminded, _ = chain_of(widget_app_server, alex, step_index=1)
    assert reminded.chain_step_id == second_step  # step 2 is next
    assert fake_model.requests[-1]["messages"][-1]["content"].count(FIRST_INSTRUCTION) == 1

    # The staff open the chat from the dashboard: the reminder is marked with its step.
    staff_page.reload()
    expect(row).to_contain_text("Step 2")
    expect(row.locator("td").last).to_have_text("1")
    row.get_by_role("link").click()
    expect(staff_page).to_have_url(re.compile(rf"/admin/chats/{chat.id}$"))
    reminder = staff_page.locator(".message.is-reminder")
    expect(reminder).to_contain_text("Reminder · step 1")
    expect(reminder).to_contain_text(REMINDER)
    expect(reminder.locator(".message-tokens")).to_contain_text("tokens")
    shoot(staff_page, "chat")

    # A staff reply shows in the conversation at once and holds reminders back.
    staff_page.get_by_label("Reply as staff").fill("Hi Maria, Olivia here. Happy to help!")
    staff_page.get_by_role("button", name="Send reply").click()
    expect(staff_page.get_by_role("status")).to_have_text("Reply sent.")
    expect(staff_page.locator(".message.role-staff")).to_contain_text("Olivia here")
    expect(staff_page.locator("#chain")).to_contain_text("A staff member replied")
    expect(
        last_agent_text(browser_page.frame_locator('iframe[title="Chat with us"]'))
    ).to_have_text(REMINDER)

    staff_page.goto(f"/admin/agents/{alex}/chats")
    expect(staff_page.locator(".chats-table")).to_contain_text("Step 2 due")
    shoot(staff_page, "tab-chats")


def a_chain_of_one_step(server, agent_id: int) -> None:
    """Alex reminds after an hour (the chain is built through the tab in the test above)."""
    with server.app.app_context():
        tenant_id = db.session.get(Agent, agent_id).tenant_id
        agents.set_autofollowup_enabled(tenant_id, agent_id, True)
        agents.add_step(
            tenant_id,
            agent_id,
            {"delay_hours": "1", "delay_minutes": "0", "instruction": FIRST_INSTRUCTION},
        )
        db.session.remove()


def a_waiting_chat(server, shop) -> None:
    """Another visitor asked something and went silent: their reminder is scheduled."""
    with server.app.app_context():
        chat = chats.start_chat(shop.public_key, {"name": "Tom Baker"}).chat
        chats.post_client_message(chat, "Do you deliver to Leeds?")
        chats.reply(chat)
        db.session.remove()


def request_of(server, name: str) -> tuple[int, int]:
    """The chat a customer's request was taken in, and the request: their ids."""
    with server.app.app_context():
        request = db.session.query(FollowUpRequest).filter_by(name=name).one()
        ids = request.chat_id, request.id
        db.session.remove()
    return ids


def test_the_dashboard_and_the_chat_say_a_chat_was_handed_to_the_team(
    staff_page, browser_page, alex, shop, host_site, widget_app_server
):
    a_chain_of_one_step(widget_app_server, alex)
    a_waiting_chat(widget_app_server, shop)

    # Maria asks for a person and sends the form: the team has her request now.
    widget = open_widget(
        browser_page, host_site.publish("/", host_page(shop, signed_customer(shop)))
    )
    send(widget, "Can I talk to a person about a bulk order of oak tables?")
    widget.locator(".msg-agent .followup-card").last.get_by_role(
        "button", name="Send request"
    ).click()
    expect(widget.locator(".followup-done")).to_contain_text("Request sent")
    chat_id, followup_id = request_of(widget_app_server, "Maria Garcia")

    staff_page.goto("/admin/auto-followup")
    waiting = staff_page.locator("tr.af-row").first
    expect(waiting).to_contain_text("Tom Baker")
    expect(waiting).to_contain_text("Step 1")
    row = staff_page.locator(f'tr[data-chat-id="{chat_id}"]')
    expect(row).to_contain_text("Maria Garcia")
    expect(row).to_contain_text("None until the client writes")
    handed = row.get_by_role("link", name="Handed to the team")
    expect(handed).to_have_attribute("href", f"/admin/followups/{followup_id}")
    screenshot(staff_page, "autofollowup-handed-to-the-team")

    # The row opens the chat, which says the same; the state's own link opens the request.
    row.get_by_role("link", name="Maria Garcia").click()
    expect(staff_page).to_have_url(re.compile(rf"/admin/chats/{chat_id}$"))
    expect(staff_page.locator("#chain .chain-state")).to_have_text("Handed to the team")
    expect(staff_page.locator("#chain")).to_contain_text(
        "no reminder until the client writes again"
    )
    screenshot(staff_page, "chat-handed-to-the-team")
    staff_page.go_back()
    handed.click()
    expect(staff_page).to_have_url(re.compile(rf"/admin/followups/{followup_id}$"))
