"""Typing and presence in real Chromium: the visitor sees the AI employee typing while
it thinks and while its reply streams, and a staff member's reply, posted in the
admin, signed "Anna · Acme Inc team".

The widget is embedded in a website on another origin, as in test_widget.py. The
fake model holds its answer until the test has seen the typing line (`hold`), so
no timing decides what the test sees.
"""

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

from followup.extensions import db
from followup.models import Chat, StaffUser
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers.apps import build_app
from tests.helpers.browser import STAFF_EMAIL, LiveServer, served, staff_login
from tests.helpers.embedded_widget import DESKTOP, host_page, last_agent_text, open_widget, send

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
QUESTION = "What are your opening hours?"
ANSWER = f"You said: {QUESTION}"
# The longest the fake model waits for the test to let it answer: a failed test
# must not leave it waiting forever.
HOLD_LIMIT_S = 30
# A poll for new messages runs every 5 s (widget-chat.js POLL_MS).
POLL_WAIT_MS = 15_000


@pytest.fixture(scope="module")
def widget_app_server(tmp_path_factory, fake_model) -> Iterator[LiveServer]:
    """The app answering through the fake model, patient enough for a held answer."""
    database = tmp_path_factory.mktemp("presence-e2e") / "presence.db"
    app = build_app(
        f"sqlite:///{database}",
        OPENAI_BASE_URL=fake_model.base_url,
        OPENAI_API_KEY="test-key",
        LLM_TIMEOUT_S=HOLD_LIMIT_S + 10,
        LOGIN_RATE_LIMIT="1000 per minute",
        WIDGET_SESSIONS_LIMIT_PER_IP="1000 per minute",
    )
    with served(app, "presence-e2e-app") as server:
        yield server


@pytest.fixture
def hold(fake_model: FakeOpenAI) -> Iterator[threading.Event]:
    """Set it to let the fake model answer: until then it thinks."""
    release = threading.Event()
    fake_model.behaviour.on_request = lambda _body: release.wait(HOLD_LIMIT_S)
    yield release
    release.set()


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"widget-{name}.png"), animations="disabled")


def resize(page: Page, size: dict) -> None:
    """The page at `size`, once the chat's frame has laid itself out and painted anew."""
    page.set_viewport_size(size)
    iframe = page.locator('iframe[title="Chat with us"]')
    width = round(iframe.bounding_box()["width"])
    frame = iframe.element_handle().content_frame()
    frame.wait_for_function(f"() => window.innerWidth === {width}")
    frame.evaluate(
        "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )


def shoot_both_widths(page: Page, name: str) -> None:
    shoot(page, f"desktop-{name}")
    resize(page, PHONE)
    shoot(page, f"phone-{name}")
    resize(page, DESKTOP)


def typing_line(chat: FrameLocator):
    return chat.locator("#messages .typing-indicator")


def test_the_visitor_sees_the_ai_typing_until_its_reply_is_complete(
    browser_page, shop, host_site, fake_model, hold
):
    page = browser_page
    chat = open_widget(page, host_site.publish("/", host_page(shop, None)))
    conversation = chat.get_by_role("log", name="Conversation")

    # The model thinks: the line shows alone, no empty bubble, and it is in the log's
    # accessible text (announced once as the log adds it); the dots are not.
    send(chat, QUESTION)
    expect(typing_line(chat)).to_have_text("Alex is typing…")
    dots = typing_line(chat).locator(".typing i")
    expect(dots).to_have_count(3)
    expect(dots.first).to_have_css("animation-name", "blink")
    # Under "reduce motion" the dots stay still.
    page.emulate_media(reduced_motion="reduce")
    expect(dots.first).to_have_css("animation-name", "none")
    page.emulate_media(reduced_motion="no-preference")
    expect(chat.locator(".msg-streaming .bubble")).to_be_hidden()
    expect(conversation).to_match_aria_snapshot(
        f"""- log "Conversation":
  - paragraph: "Alex: Hi! I'm Alex from Acme Inc. How can I help you today?"
  - paragraph: "You: {QUESTION}"
  - paragraph: Alex is typing…"""
    )
    shoot_both_widths(page, "typing")

    # The reply streams in slowly: the line stays under the growing bubble, ...
    fake_model.behaviour.token_delay_s = 1.0
    hold.set()
    streaming = chat.locator(".msg-streaming .bubble-text")
    expect(streaming).to_have_text(re.compile(r"^You said:"))
    expect(typing_line(chat)).to_be_visible()
    shoot(page, "desktop-typing-streaming")
    # ... and goes with it when the reply is complete.
    expect(last_agent_text(chat)).to_have_text(ANSWER, timeout=20_000)
    expect(typing_line(chat)).to_have_count(0)
    expect(chat.locator(".msg-streaming")).to_have_count(0)
    fake_model.behaviour.token_delay_s = 0

    # A reply that fails ends the line too: the fallback and its form show instead.
    fake_model.behaviour.fail_status = 500
    send(chat, "Do you deliver to Oslo?")
    expect(last_agent_text(chat)).to_contain_text("Sorry, I can't answer right now.")
    expect(chat.locator(".msg-agent .followup-card")).to_have_count(1)
    expect(typing_line(chat)).to_have_count(0)


def staff_page(chromium: Browser, app_url: str) -> Page:
    context = chromium.new_context(base_url=app_url, viewport=DESKTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    staff_login(page, "/admin/followups")
    return page


def test_a_staff_reply_shows_in_the_widget_signed_with_their_first_name(
    browser_page, chromium, shop, host_site, widget_app_server
):
    with widget_app_server.app.app_context():
        db.session.query(StaffUser).filter_by(email=STAFF_EMAIL).one().name = "Anna Berg"
        db.session.commit()
        db.session.remove()
    page = browser_page
    chat = open_widget(page, host_site.publish("/", host_page(shop, None)))
    send(chat, "Is my order of oak chairs on its way?")
    expect(last_agent_text(chat)).to_have_text("You said: Is my order of oak chairs on its way?")
    with widget_app_server.app.app_context():
        [chat_id] = [c.id for c in db.session.query(Chat).all()]
        db.session.remove()

    staff = staff_page(chromium, shop.app_url)
    try:
        staff.goto(f"/admin/chats/{chat_id}")
        staff.get_by_label("Reply as staff").fill("Hi, I'm looking at your order now.")
        staff.get_by_role("button", name="Send reply").click()
        expect(staff.get_by_role("status").filter(has_text="Reply sent.")).to_be_visible()
    finally:
        staff.context.close()

    reply = chat.locator("#messages .msg-staff")
    expect(reply.locator(".sender")).to_have_text("Anna · Acme Inc team", timeout=POLL_WAIT_MS)
    expect(reply.locator(".bubble-text")).to_have_text("Hi, I'm looking at your order now.")
    # Screen readers hear who wrote it; it is not shown as the AI's.
    expect(reply.locator(".bubble .visually-hidden")).to_have_text("Anna · Acme Inc team: ")
    expect(reply).not_to_contain_text("Alex")
    shoot_both_widths(page, "staff-reply")
