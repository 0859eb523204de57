"""The chat widget's accessibility in real Chromium, at desktop and phone sizes.

axe-core (tests/helpers/accessibility.py) checks the website with the launcher, the
open chat inside its iframe, the follow-up forms and their error states, and each
state of voice mode. The keyboard alone opens the chat, goes round every control
inside it without reaching the website behind, and closes it back onto the launcher.
A new reply lands in the polite log and is announced once. As in every browser test,
a console error or a CSP violation fails the test (tests/e2e/conftest.py).
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Frame, FrameLocator, Page, expect

from followup.extensions import db
from followup.models import Chat, StaffUser, Tenant
from followup.services import chats
from tests.helpers.accessibility import assert_accessible, violations
from tests.helpers.browser import STAFF_EMAIL
from tests.helpers.embedded_widget import (
    chat_frame_loaded,
    host_page,
    launcher,
    send,
    signed_customer,
)

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
FRAME = 'iframe[title="Chat with us"]'
POLL_WAIT_MS = 15_000  # the chat polls for new messages every 5 s (widget-chat.js)

# A microphone that listens until stopped, or one the visitor blocked.
LISTENING_MIC = """
window.SpeechRecognition = window.webkitSpeechRecognition = class {
  start() {
    if (!window.__micBlocked) return;
    setTimeout(() => { this.onerror({ error: "not-allowed" }); this.onend(); }, 0);
  }
  abort() { setTimeout(() => this.onend(), 0); }
  stop() { this.abort(); }
};
"""
NO_SPEECH_API = "delete window.webkitSpeechRecognition; delete window.SpeechRecognition;"


def website(shop) -> str:
    """The shop's page, with a link of its own before the launcher in the Tab order."""
    link = '<header><a href="/" style="color:inherit">Acme Shop</a></header>'
    return host_page(shop, signed_customer(shop)).replace("<header>Acme Shop</header>", link)


def open_chat(page: Page) -> tuple[FrameLocator, Frame]:
    """Open the chat from the focused launcher: its locators, and the frame axe runs in."""
    chat_frame_loaded(page)
    page.keyboard.press("Enter")
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    chat = page.frame_locator(FRAME)
    expect(chat.locator("#messages .msg-agent").first).to_contain_text("How can I help you today?")
    expect(chat.get_by_label("Message", exact=True)).to_be_focused()
    return chat, page.locator(FRAME).element_handle().content_frame()


def visit(page: Page, url: str) -> tuple[FrameLocator, Frame]:
    page.goto(url)
    launcher(page).focus()
    return open_chat(page)


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"widget-a11y-{name}.png"), animations="disabled")


def size_name(viewport: dict) -> str:
    return "phone" if viewport == PHONE else "desktop"


# --- axe ---------------------------------------------------------------------------------------


def test_the_axe_helper_lists_each_violation_with_rule_impact_target_and_help(browser_page):
    page = browser_page
    # An empty button, and two 10 px buttons side by side (WCAG 2.2, off in axe by default).
    tiny = '<button style="width:10px;height:10px;padding:0;border:0">{}</button>'
    page.set_content(
        '<html lang="en"><title>t</title><main><h1>t</h1><button></button><p>'
        + tiny.format("a")
        + tiny.format("b")
        + "</p></main>"
    )
    found = violations(page)
    # "<rule> (<impact>) at <CSS path axe chose>: <help>", one per element.
    assert [line.split(" at ")[0] for line in found] == [
        "button-name (critical)",
        "target-size (serious)",
        "target-size (serious)",
    ]
    assert re.fullmatch(
        r"button-name \(critical\) at \S.*: Buttons must have discernible text", found[0]
    )
    assert found[1].endswith(": All touch targets must be 24px large, or leave sufficient space")
    with pytest.raises(pytest.fail.Exception, match="button-name"):
        assert_accessible(page, "a page with an empty button")


@SIZES
def test_axe_finds_nothing_from_the_launcher_to_the_form_errors(
    browser_page, shop, host_site, viewport
):
    page = browser_page
    page.goto(host_site.publish("/a11y", website(shop)))
    expect(launcher(page)).to_be_visible()
    assert_accessible(page, "the website with the launcher")

    launcher(page).focus()
    chat, frame = open_chat(page)
    assert_accessible(page, "the website with the chat open")
    assert_accessible(frame, "the open chat")

    # The Contact us form, sent empty, then with a wrong email.
    chat.get_by_role("button", name="Contact us").click()
    panel = chat.get_by_role("region", name="Contact us")
    expect(panel.get_by_label("Name")).to_be_focused()
    assert_accessible(frame, "the Contact us form")
    for label in ("Name", "Email"):
        panel.get_by_label(label).fill("")
    panel.get_by_role("button", name="Send request").click()
    expect(panel.locator(".field-error")).to_have_count(3)  # name, email, reason
    assert_accessible(frame, "the Contact us form sent empty")
    panel.get_by_label("Name").fill("Maria Garcia")
    panel.get_by_label("Email").fill("not-an-email")
    panel.get_by_label("Reason").fill("A walnut desk")
    panel.get_by_role("button", name="Send request").click()
    expect(panel.locator(".field-error")).to_have_count(1)
    expect(panel.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    assert_accessible(frame, "the Contact us form with a wrong email")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()

    # The form the AI offers in the conversation, and its errors.
    send(chat, "I want to speak to someone")
    form = chat.locator("#messages .followup-card")
    expect(form.get_by_label("Name")).to_have_value("Maria Garcia")
    assert_accessible(frame, "the form in the conversation")
    form.get_by_label("Email").fill("nope")
    form.get_by_label("Reason").fill("")
    form.get_by_role("button", name="Send request").click()
    expect(form.locator(".field-error")).to_have_count(2)
    assert_accessible(frame, "the form in the conversation with errors")

    # Sent: the confirmation, the thank-you, and the request under My requests.
    form.get_by_label("Email").fill("maria@example.com")
    form.get_by_label("Reason").fill("A bulk order of oak tables")
    form.get_by_role("button", name="Send request").click()
    expect(chat.locator(".followup-done")).to_have_text("Request sent")
    assert_accessible(frame, "the conversation with the request sent")
    chat.get_by_role("button", name="My requests").click()
    requests = chat.get_by_role("region", name="My requests")
    expect(requests.locator(".request-reason")).to_have_text(["A bulk order of oak tables"])
    assert_accessible(frame, "the My requests panel")


@SIZES
def test_axe_finds_nothing_in_any_state_of_voice_mode(browser_page, shop, host_site, viewport):
    page = browser_page
    page.context.add_init_script(LISTENING_MIC)
    url = host_site.publish("/a11y-voice", website(shop))
    chat, frame = visit(page, url)
    mic = chat.get_by_role("button", name="Speak your message")
    expect(mic).to_be_visible()
    assert_accessible(frame, "the chat with the microphone button")

    mic.click()
    expect(chat.get_by_role("status").filter(has_text="Listening")).to_have_text(
        "Listening… Press Escape to stop."
    )
    expect(mic).to_have_attribute("aria-pressed", "true")
    assert_accessible(frame, "the chat listening")
    shoot(page, f"{size_name(viewport)}-voice-listening")

    frame.evaluate("window.__micBlocked = true")
    page.keyboard.press("Escape")
    expect(mic).to_have_attribute("aria-pressed", "false")
    mic.click()
    expect(chat.locator("#voice-status")).to_have_text("Microphone access is blocked.")
    assert_accessible(frame, "the chat with the microphone blocked")

    # No Web Speech API (Firefox, some privacy settings): the microphone records for
    # our server instead (the "automatic" voice setting).
    page.context.add_init_script(NO_SPEECH_API)
    chat, frame = visit(page, url)
    expect(chat.get_by_role("button", name="Speak your message")).to_be_visible()
    assert_accessible(frame, "the chat without the Web Speech API")


@pytest.fixture
def strict_shop(shop, widget_app_server) -> Iterator:
    """The shop chats only with visitors its website signed in, for this test only."""

    def require(on: bool) -> None:
        with widget_app_server.app.app_context():
            tenant = db.session.query(Tenant).filter_by(slug="acme").one()
            tenant.require_verified_identity = on
            tenant.sign_in_url = "https://www.acme.example/login" if on else None
            db.session.commit()
            db.session.remove()

    require(True)
    yield shop
    require(False)


@SIZES
def test_axe_and_the_keyboard_find_nothing_when_the_visitor_must_sign_in_first(
    browser_page, strict_shop, host_site, viewport
):
    page = browser_page
    page.goto(host_site.publish("/a11y-sign-in", host_page(strict_shop, None)))
    launcher(page).focus()
    chat_frame_loaded(page)
    page.keyboard.press("Enter")
    chat = page.frame_locator(FRAME)
    sign_in = chat.get_by_role("link", name="Sign in")
    expect(sign_in).to_be_focused()
    frame = page.locator(FRAME).element_handle().content_frame()
    assert_accessible(frame, "the chat asking the visitor to sign in")
    assert tab_round(page, frame, "Tab", 2) == ["Close chat", "Sign in"]
    assert tab_round(page, frame, "Shift+Tab", 2) == ["Close chat", "Sign in"]
    page.keyboard.press("Escape")
    expect(page.locator(FRAME)).to_be_hidden()
    expect(launcher(page)).to_be_focused()


# --- the keyboard alone ------------------------------------------------------------------------

# What the focused control is called: its accessible label, else its text.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const label = el.getAttribute("aria-label") || (el.labels && el.labels[0]?.textContent);
  return (label || el.textContent).trim().replace(/\\s+/g, " ");
}"""


def press(page: Page, key: str, times: int) -> None:
    for _ in range(times):
        page.keyboard.press(key)


def tab_round(page: Page, frame: Frame, key: str, steps: int) -> list[str]:
    """Press `key` `steps` times; the control focused after each, all inside the chat."""
    seen = []
    for _ in range(steps):
        page.keyboard.press(key)
        assert frame.evaluate("document.hasFocus()"), f"{key} left the chat after {seen}"
        seen.append(frame.evaluate(FOCUSED))
    return seen


@SIZES
def test_the_keyboard_alone_opens_goes_round_and_closes_the_chat(
    browser_page, shop, host_site, viewport
):
    page = browser_page
    page.context.add_init_script(LISTENING_MIC)  # the microphone button is one of the controls
    page.goto(host_site.publish("/a11y-keys", website(shop)))
    expect(launcher(page)).to_be_visible()

    # Tab passes the website's link and reaches the launcher; Space opens the chat.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Acme Shop")).to_be_focused()
    page.keyboard.press("Tab")
    expect(launcher(page)).to_be_focused()
    shoot(page, f"{size_name(viewport)}-focus-launcher")
    chat_frame_loaded(page)
    page.keyboard.press(" ")
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    chat = page.frame_locator(FRAME)
    box = chat.get_by_label("Message", exact=True)
    expect(box).to_be_focused()
    frame = page.locator(FRAME).element_handle().content_frame()

    # Every control, round and round: Tab never reaches the website behind.
    page.keyboard.type("Hello")  # Send is a control once there is something to send
    controls = [
        "Close chat",
        "Contact us",
        "My requests",
        "Conversation",
        "Message",
        "Speak your message",
        "Send",
    ]
    start = controls.index("Message")
    forward = controls[start + 1 :] + controls[: start + 1]
    assert tab_round(page, frame, "Tab", len(controls)) == forward
    backward = list(reversed(controls[:start])) + list(reversed(controls[start:]))
    assert tab_round(page, frame, "Shift+Tab", len(controls)) == backward
    expect(box).to_be_focused()
    tab_round(page, frame, "Tab", 2)
    expect(chat.get_by_role("button", name="Send")).to_be_focused()
    shoot(page, f"{size_name(viewport)}-focus-send")

    # An open panel covers the conversation: Tab goes round the header and the panel only.
    press(page, "Shift+Tab", 5)
    expect(chat.get_by_role("button", name="Contact us")).to_be_focused()
    page.keyboard.press("Enter")
    panel = chat.get_by_role("region", name="Contact us")
    expect(panel.get_by_label("Name")).to_be_focused()
    in_panel = [
        "Name",
        "Email",
        "Phone (optional)",
        "Reason",
        "Send request",
        "Close chat",
        "Contact us",
        "My requests",
        "Close Contact us",
        "Name",
    ]
    assert tab_round(page, frame, "Tab", len(in_panel)) == [*in_panel[1:], "Email"]
    shoot(page, f"{size_name(viewport)}-focus-panel")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(chat.get_by_role("button", name="Contact us")).to_be_focused()

    # Escape closes the chat and gives the focus back to the launcher.
    page.keyboard.press("Escape")
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    expect(page.locator(FRAME)).to_be_hidden()
    expect(launcher(page)).to_be_focused()

    # Enter opens it again; its own close button, pressed with Enter, closes it too.
    page.keyboard.press("Enter")
    expect(box).to_be_focused()
    press(page, "Shift+Tab", 4)
    expect(chat.get_by_role("button", name="Close chat")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(FRAME)).to_be_hidden()
    expect(launcher(page)).to_be_focused()


# --- replies announced -------------------------------------------------------------------------

# Text added to the log as a screen reader hears it (without what is aria-hidden).
RECORD_ANNOUNCED = """() => {
  window.__announced = [];
  new MutationObserver(records => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        const el = node.nodeType === 1 ? node : node.parentElement;
        if (!el || el.closest('[aria-hidden="true"]')) continue;
        const heard = node.cloneNode(true);
        const hidden = heard.nodeType === 1 ? heard.querySelectorAll('[aria-hidden="true"]') : [];
        hidden.forEach(n => n.remove());
        const text = heard.textContent.trim();
        if (text) window.__announced.push(text);
      }
    }
  }).observe(document.getElementById("messages"), { childList: true, subtree: true });
}"""


def test_a_new_reply_lands_in_the_polite_log_and_is_announced_once(
    browser_page, shop, host_site, fake_model, widget_app_server
):
    page = browser_page
    chat, frame = visit(page, host_site.publish("/a11y-live", website(shop)))
    log = chat.get_by_role("log", name="Conversation")
    expect(log).to_have_attribute("aria-live", "polite")
    frame.evaluate(RECORD_ANNOUNCED)

    fake_model.behaviour.token_delay_s = 0.05  # the reply streams in several pieces
    send(chat, "Do you make oak tables?")
    reply = log.locator(".msg-agent .bubble-text").last
    expect(reply).to_have_text("You said: Do you make oak tables?")
    expect(log.locator(".msg-streaming")).to_have_count(0)
    assert reply.evaluate("el => el.closest('[aria-live=polite]').id") == "messages"

    # Each once, whole: the message sent, "is typing", then the reply; not the reply
    # word by word (its streaming bubble is hidden), and not the conversation again.
    announced = [" ".join(text.split()) for text in frame.evaluate("window.__announced")]
    assert announced == [
        "You: Do you make oak tables?",
        "Alex is typing…",
        "Alex: You said: Do you make oak tables?",
    ]

    # A staff member's reply arrives by the poll: into the log, announced once, signed.
    with widget_app_server.app.app_context():
        chat_row = db.session.query(Chat).one()
        owner = db.session.query(StaffUser).filter_by(email=STAFF_EMAIL).one()
        chats.post_staff_reply(chat_row, owner, "Yes, in oak and walnut.")
        db.session.remove()
    staff_reply = log.locator(".msg-staff .bubble-text")
    expect(staff_reply).to_have_text("Yes, in oak and walnut.", timeout=POLL_WAIT_MS)
    announced = [" ".join(text.split()) for text in frame.evaluate("window.__announced")]
    assert announced[3:] == ["Olivia · Acme Inc team: Yes, in oak and walnut."]
    assert_accessible(frame, "the chat with a staff reply")
