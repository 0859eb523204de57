"""The chat widget in real Chromium, embedded in a website on another origin.

A host page served by a second server ("http://localhost:<port>", another site
than the app's "http://127.0.0.1:<port>") sets `window.FollowupWidget` with a
customer signed by the tenant's widget secret and pastes the snippet. The app is
the real one, talking through the OpenAI SDK to the local fake model
(`tests/fakes/openai_server.py`). The only things replaced are the computer's
microphone and speaker (the Web Speech API), in the voice test.
"""

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

from followup.extensions import db, mail
from followup.models import Chat, FollowUpRequest, Source, Tenant
from tests.fakes.openai_server import OFFER_TEXT
from tests.helpers.agents import make_agent
from tests.helpers.browser import STAFF_EMAIL, LiveServer, screenshot, staff_login
from tests.helpers.embedded_widget import (
    CUSTOMER,
    DESKTOP,
    host_page,
    last_agent_text,
    launcher,
    open_widget,
    send,
    set_voice_mode,
    signed_customer,
)
from tests.helpers.staff import PASSWORD

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
FALLBACK_START = "Sorry, I can't answer right now."
PROMISE = "We'll contact you within 24 hours."
FORM_LEAD = "Leave your details below and the team will get back to you."
GREETING = "I'm Alex from Acme Inc. How can I help you today?"


# --- browser helpers (the servers and the shop: tests/e2e/conftest.py) ------------------------


@pytest.fixture
def viewport() -> dict:
    return DESKTOP


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"widget-{name}.png"), animations="disabled")


def promises_in_view(chat: FrameLocator) -> int:
    """How often the conversation, as the customer sees it, says when the team answers."""
    return chat.locator("#messages").inner_text().count(PROMISE)


def admin_sees(chromium: Browser, app_url: str, name: str, reason_part: str) -> None:
    context = chromium.new_context(base_url=app_url, viewport=DESKTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/admin/followups")
        page.fill("#email", STAFF_EMAIL)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/admin/followups$"))
        card = page.locator("#followup-list .followup-card").filter(
            has=page.locator(".card-name", has_text=name)
        )
        expect(card).to_have_count(1)
        expect(card.locator(".card-reason")).to_contain_text(reason_part)
    finally:
        context.close()


def saved_requests(server: LiveServer, name: str) -> list[FollowUpRequest]:
    with server.app.app_context():
        rows = db.session.query(FollowUpRequest).filter_by(name=name).all()
        db.session.expunge_all()
        db.session.remove()
    return rows


# --- the flows -------------------------------------------------------------------------------


def test_signed_customer_chats_streams_gets_prefilled_form_and_reaches_staff(
    browser_page, chromium, shop, host_site, fake_model, widget_app_server
):
    page = browser_page
    problems = []
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    url = host_site.publish("/", host_page(shop, signed_customer(shop)))
    chat = open_widget(page, url)
    expect(chat.get_by_role("log", name="Conversation")).to_be_visible()

    # The reply streams in: the bubble grows a word at a time before it is final.
    # Slow enough that a loaded machine still sees the bubble mid-stream (about 2 s).
    fake_model.behaviour.token_delay_s = 0.3
    box = chat.get_by_label("Message", exact=True)
    expect(chat.get_by_role("button", name="Send")).to_be_disabled()
    box.fill("What are your opening hours?")
    expect(chat.get_by_role("button", name="Send")).to_be_enabled()
    box.press("Enter")
    streaming = chat.locator(".msg-streaming .bubble-text")
    expect(streaming).to_have_text(re.compile(r"^You said:"))
    expect(streaming).not_to_have_text("You said: What are your opening hours?")
    shoot(page, "desktop-streaming")
    expect(last_agent_text(chat)).to_have_text("You said: What are your opening hours?")
    expect(chat.locator(".msg-streaming")).to_have_count(0)
    expect(chat.locator(".msg-client .bubble-text")).to_have_text(["What are your opening hours?"])
    expect(box).to_have_value("")
    fake_model.behaviour.token_delay_s = 0

    # Asking for a person: the AI offers a follow-up, the form is pre-filled from the
    # signed identity, and says when the team will answer.
    send(chat, "Can I talk to a person about a bulk order of oak tables?")
    expect(last_agent_text(chat)).to_have_text(OFFER_TEXT)
    form = chat.locator(".msg-agent .followup-card").last
    expect(form.get_by_label("Name")).to_have_value("Maria Garcia")
    expect(form.get_by_label("Email")).to_have_value("maria@example.com")
    expect(form.get_by_label("Reason")).to_have_value(re.compile("bulk order of oak tables"))
    expect(form.locator(".promise")).to_have_text(PROMISE)
    assert promises_in_view(chat) == 1
    shoot(page, "desktop-form")

    form.get_by_label("Phone (optional)").fill("+1 415 555 0100")
    form.get_by_role("button", name="Send request").click()
    done = chat.locator(".followup-done")
    expect(done).to_have_text("Request sent")
    expect(last_agent_text(chat)).to_have_text(
        f"Thank you, Maria Garcia! Your request has been sent to our team. {PROMISE}"
    )
    assert promises_in_view(chat) == 1  # the thank-you, below the confirmation
    shoot(page, "desktop-success")

    [saved] = saved_requests(widget_app_server, "Maria Garcia")
    # The website's customer cust-42 sent it; its email is not signed, so not Verified.
    assert saved.identity_verified is False
    assert saved.phone == "+14155550100" and saved.source == Source.TEXT
    admin_sees(chromium, shop.app_url, "Maria Garcia", "bulk order of oak tables")

    # History survives a reload: the same conversation, no new greeting, and the
    # submitted form stays submitted. This browser denies the cross-site frame its
    # storage, so the host page kept the session for it.
    kept = page.evaluate(f"JSON.parse(localStorage.getItem('followup-widget:{shop.public_key}'))")
    assert kept["customerId"] == "cust-42" and kept["token"]
    open_widget(page, url)
    chat = page.frame_locator('iframe[title="Chat with us"]')
    expect(chat.locator(".msg-client .bubble-text")).to_have_count(2)
    expect(chat.locator(".msg-agent .bubble-text").first).to_contain_text("How can I help")
    expect(chat.locator("#messages .followup-card")).to_have_count(0)
    expect(last_agent_text(chat)).to_contain_text("Thank you, Maria Garcia!")
    assert promises_in_view(chat) == 1
    assert problems == []  # no script errors, no CSP violations, no failed requests


def test_with_the_model_down_the_widget_says_so_and_the_form_still_works(
    browser_page, chromium, shop, host_site, fake_model, widget_app_server
):
    fake_model.behaviour.fail_status = 500
    page = browser_page
    chat = open_widget(page, host_site.publish("/down", host_page(shop, None)))

    send(chat, "Do you deliver to Norway?")
    expect(last_agent_text(chat)).to_have_text(f"{FALLBACK_START} {FORM_LEAD}")
    form = chat.locator(".msg-agent .followup-card").last
    expect(form.locator(".promise")).to_have_text(PROMISE)
    assert promises_in_view(chat) == 1
    # Nothing known about this visitor: an empty form; mistakes are shown per field.
    expect(form.get_by_label("Name")).to_have_value("")
    form.get_by_label("Email").fill("not-an-email")
    form.get_by_role("button", name="Send request").click()
    name = form.get_by_label("Name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_be_focused()
    expect(form.locator("[id$=-name-error]")).to_have_text("Name: please fill this in.")
    expect(form.get_by_label("Email")).to_have_attribute(
        "aria-describedby", re.compile("email-error")
    )
    expect(form.locator(".field-error")).to_have_count(3)  # name, email, reason
    assert promises_in_view(chat) == 1
    shoot(page, "desktop-form-errors")

    name.fill("Ola Nordmann")
    form.get_by_label("Email").fill("ola@example.no")
    form.get_by_label("Reason").fill("Delivery of two chairs to Oslo")
    form.get_by_role("button", name="Send request").click()
    expect(chat.locator(".followup-done")).to_have_text("Request sent")
    expect(last_agent_text(chat)).to_have_text(
        f"Thank you, Ola Nordmann! Your request has been sent to our team. {PROMISE}"
    )
    assert promises_in_view(chat) == 1

    [saved] = saved_requests(widget_app_server, "Ola Nordmann")
    assert saved.reason == "Delivery of two chairs to Oslo"
    assert saved.identity_verified is False
    admin_sees(chromium, shop.app_url, "Ola Nordmann", "two chairs to Oslo")


def test_contact_us_reaches_the_team_without_the_ai(
    browser_page, shop, host_site, fake_model, widget_app_server
):
    page = browser_page
    chat = open_widget(page, host_site.publish("/contact", host_page(shop, signed_customer(shop))))
    requests_before = len(fake_model.requests)

    chat.get_by_role("button", name="Contact us").click()
    panel = chat.get_by_role("region", name="Contact us")
    expect(panel.get_by_label("Name")).to_be_focused()
    expect(panel.get_by_label("Name")).to_have_value("Maria Garcia")
    expect(panel.get_by_label("Email")).to_have_value("maria@example.com")
    expect(panel).to_contain_text(PROMISE)
    shoot(page, "desktop-contact-us")

    # Escape closes the panel and gives the focus back to its button.
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(chat.get_by_role("button", name="Contact us")).to_be_focused()

    page.keyboard.press("Enter")
    panel = chat.get_by_role("region", name="Contact us")
    expect(panel.get_by_label("Name")).to_be_focused()
    panel.get_by_label("Reason").fill("Please call me about a custom walnut desk")
    panel.get_by_role("button", name="Send request").click()
    expect(panel.locator(".followup-done")).to_contain_text(PROMISE)
    panel.get_by_role("button", name="Close Contact us").click()
    expect(last_agent_text(chat)).to_contain_text("Thank you, Maria Garcia!")

    assert len(fake_model.requests) == requests_before  # no model involved
    [saved] = saved_requests(widget_app_server, "Maria Garcia")
    assert saved.reason == "Please call me about a custom walnut desk"


def allow_only(server: LiveServer, origins: list[str]) -> None:
    with server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        tenant.allowed_origins = origins
        db.session.commit()
        db.session.remove()


def test_on_a_site_that_is_not_allowed_there_is_no_button_and_one_warning(
    browser_page, shop, host_site, widget_app_server
):
    allow_only(widget_app_server, ["https://shop.example"])
    page = browser_page
    console = []
    page.on("console", lambda message: console.append((message.type, message.text)))
    page.on("pageerror", lambda error: console.append(("pageerror", str(error))))
    chat_requests = []
    page.on("request", lambda request: "/w/" in request.url and chat_requests.append(request.url))

    url = host_site.publish("/elsewhere", host_page(shop, None))
    with page.expect_console_message(lambda message: message.type == "warning"):
        page.goto(url)

    expect(page.get_by_role("heading", name="Handmade furniture")).to_be_visible()
    expect(page.locator("[data-followup-widget]")).to_have_count(0)
    expect(launcher(page)).to_have_count(0)
    assert console == [
        (
            "warning",
            f"Followup: {host_site.origin} is not allowed: "
            "add it under Settings \u2192 Allowed website origins.",
        )
    ]
    assert chat_requests == []  # no frame was even tried
    shoot(page, "host-not-allowed")

    # Once the owner allows the site, the button is there on the next page view.
    allow_only(widget_app_server, ["https://shop.example", host_site.origin])
    console.clear()
    page.reload()
    expect(launcher(page)).to_be_visible()
    assert console == []


@pytest.mark.parametrize("customer", ["signed", "unsigned"])
def test_the_greeting_names_nobody_signed_or_not(browser_page, shop, host_site, customer):
    """The website signs its customer's id, not the name beside it."""
    page = browser_page
    greeting = f"Hi! {GREETING}"
    data = signed_customer(shop) if customer == "signed" else CUSTOMER
    chat = open_widget(page, host_site.publish(f"/greet-{customer}", host_page(shop, data)))
    expect(chat.locator("#messages .msg-agent .bubble-text")).to_have_text([greeting])
    shoot(page, f"greeting-{customer}")
    # Signed or not, the website's details pre-fill the form.
    chat.get_by_role("button", name="Contact us").click()
    panel = chat.get_by_role("region", name="Contact us")
    expect(panel.get_by_label("Name")).to_have_value("Maria Garcia")


def presence(chat: FrameLocator):
    return chat.locator("#presence")


def test_with_a_model_the_presence_line_says_the_ai_replies_in_seconds(
    browser_page, shop, host_site
):
    page = browser_page
    chat = open_widget(page, host_site.publish("/presence-ai", host_page(shop, None)))
    expect(presence(chat)).to_have_text("Alex, the AI assistant, replies in seconds")
    shoot(page, "presence-ai")


def test_without_a_model_the_presence_line_promises_what_the_team_does(
    browser_page, shop, host_site, fake_model, widget_app_server
):
    page = browser_page
    config = widget_app_server.app.config
    model = {key: config[key] for key in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    config.update(OPENAI_BASE_URL=None, OPENAI_API_KEY=None)  # no model configured
    try:
        chat = open_widget(page, host_site.publish("/presence-none", host_page(shop, None)))
        expect(presence(chat)).to_have_text(
            "Leave your details and we'll get back to you within 24 hours"
        )
        send(chat, "Do you make round tables?")
        expect(last_agent_text(chat)).to_have_text(f"{FALLBACK_START} {FORM_LEAD}")
        expect(chat.locator(".msg-agent .followup-card .promise")).to_have_text(PROMISE)
        assert promises_in_view(chat) == 1
    finally:
        config.update(model)
    assert fake_model.requests == []
    shoot(page, "presence-no-model")


@pytest.mark.parametrize(
    ("model_text", "shown"),
    [
        ("", FORM_LEAD),
        (
            f"Of course, I'll pass this on to the team. {PROMISE}",
            "Of course, I'll pass this on to the team.",
        ),
    ],
    ids=["no-text", "text-with-the-promise"],
)
def test_the_offer_says_what_happens_next_and_the_form_says_when_once(
    browser_page, shop, host_site, fake_model, model_text, shown
):
    page = browser_page
    chat = open_widget(page, host_site.publish("/offer", host_page(shop, signed_customer(shop))))
    fake_model.behaviour.reply_text = model_text
    send(chat, "Can someone call me about a custom order?")
    form = chat.locator(".msg-agent .followup-card").last
    expect(form.locator(".promise")).to_have_text(PROMISE)
    expect(last_agent_text(chat)).to_have_text(shown)
    expect(chat.locator(".msg-streaming")).to_have_count(0)
    assert promises_in_view(chat) == 1
    shoot(page, f"offer-{'no-text' if not model_text else 'with-text'}")

    form.get_by_role("button", name="Send request").click()
    expect(chat.locator(".followup-done")).to_have_text("Request sent")
    expect(last_agent_text(chat)).to_contain_text("Thank you, Maria Garcia!")
    assert promises_in_view(chat) == 1


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_at_phone_width_the_chat_fills_the_screen_and_closes_from_inside(
    browser_page, shop, host_site
):
    page = browser_page
    chat = open_widget(page, host_site.publish("/phone", host_page(shop, signed_customer(shop))))
    frame = page.locator("iframe[title='Chat with us']")
    # Measured once its opening transition (on the box around it) has finished: a busy
    # machine may be mid-way.
    expect(page.locator("[data-followup-widget] .is-open")).to_have_count(1)
    frame.evaluate("frame => Promise.all(frame.parentElement.getAnimations().map(a => a.finished))")
    box = frame.bounding_box()
    assert box == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}
    expect(launcher(page)).to_be_hidden()  # covered: the chat has its own close button

    # Shift+Enter makes a new line; Enter sends.
    box = chat.get_by_label("Message", exact=True)
    box.type("Hello from my phone")
    box.press("Shift+Enter")
    box.type("second line")
    expect(box).to_have_value("Hello from my phone\nsecond line")
    box.press("Enter")
    expect(chat.locator(".msg-client .bubble-text")).to_have_text(
        ["Hello from my phone\nsecond line"]
    )
    expect(last_agent_text(chat)).to_have_text("You said: Hello from my phone\nsecond line")
    expect(chat.get_by_label("Message", exact=True)).to_be_focused()
    shoot(page, "phone-chat")

    send(chat, "I want to speak to someone")
    expect(chat.locator(".msg-agent .followup-card").last.get_by_label("Name")).to_have_value(
        "Maria Garcia"
    )
    shoot(page, "phone-form")

    chat.get_by_role("button", name="Close chat").click()
    expect(page.locator("iframe[title='Chat with us']")).to_be_hidden()
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    expect(launcher(page)).to_be_focused()


# The computer's microphone and speaker: recognition "hears" the queued phrases one
# per start(); synthesis records what it was asked to say and ends at once.
FAKE_SPEECH = """
(() => {
  const phrases = %s;
  window.__spoken = [];
  class FakeRecognition {
    start() {
      const phrase = phrases.shift();
      setTimeout(() => {
        if (phrase) {
          const result = [{ transcript: phrase }];
          result.isFinal = true;
          this.onresult({ resultIndex: 0, results: [result] });
        }
        this.onend();
      }, 100);
    }
    stop() {}
    abort() {}
  }
  window.SpeechRecognition = FakeRecognition;
  window.webkitSpeechRecognition = FakeRecognition;
  const synthesis = {
    speak(utterance) {
      window.__spoken.push(utterance.text);
      setTimeout(() => utterance.onend(), 30);
    },
    cancel() {},
  };
  Object.defineProperty(window, "speechSynthesis", { value: synthesis, configurable: true });
})();
"""


def chat_frame(page: Page):
    return next(frame for frame in page.frames if "/w/" in frame.url)


def test_voice_conversation_spells_the_email_back_and_confirms_before_sending(
    browser_page, shop, host_site, widget_app_server
):
    page = browser_page
    phrases = ["I would like to talk to a person about a custom table", "yes", "skip", "yes"]
    page.context.add_init_script(FAKE_SPEECH % json.dumps(phrases))
    chat = open_widget(page, host_site.publish("/voice", host_page(shop, signed_customer(shop))))

    mic = chat.get_by_role("button", name="Speak your message")
    expect(mic).to_have_attribute("aria-pressed", "false")
    mic.click()

    expect(last_agent_text(chat)).to_contain_text("Thank you, Maria Garcia!", timeout=15_000)
    expect(mic).to_have_attribute("aria-pressed", "false")  # silence ended voice mode
    spoken = chat_frame(page).evaluate("window.__spoken")
    assert spoken[0] == f"{OFFER_TEXT} That's m-a-r-i-a at example dot com, correct?"
    assert spoken[1].startswith("What phone number can we reach you on?")
    assert spoken[2] == (
        "Let me confirm: name Maria Garcia, email m-a-r-i-a at example dot com, no phone. "
        "Shall I send your request to the team?"
    )
    assert spoken[3].startswith("Thank you, Maria Garcia!")
    expect(chat.locator(".msg-client.msg-voice .bubble-text")).to_have_text(phrases)
    expect(chat.locator("#messages .followup-card")).to_have_count(0)  # voice needs no form

    [saved] = saved_requests(widget_app_server, "Maria Garcia")
    assert saved.source == Source.VOICE and saved.phone is None
    assert saved.reason.startswith("Customer asked: I would like to talk to a person")


def test_escape_stops_listening_and_browser_only_voice_needs_the_web_speech_api(
    browser_page, shop, host_site, widget_app_server
):
    page = browser_page
    # A recognition that keeps listening until stopped.
    page.context.add_init_script(
        """
        window.SpeechRecognition = window.webkitSpeechRecognition = class {
          start() {}
          abort() { setTimeout(() => this.onend(), 0); }
          stop() { this.abort(); }
        };
        """
    )
    chat = open_widget(page, host_site.publish("/listen", host_page(shop, None)))
    mic = chat.get_by_role("button", name="Speak your message")
    mic.click()
    expect(mic).to_have_attribute("aria-pressed", "true")
    expect(chat.get_by_role("status").filter(has_text="Listening")).to_have_text(
        "Listening… Press Escape to stop."
    )
    page.keyboard.press("Escape")
    expect(mic).to_have_attribute("aria-pressed", "false")
    expect(chat.locator("#voice-status")).to_have_text("")
    expect(page.locator("iframe[title='Chat with us']")).to_be_visible()  # still open

    # The business chose the browser's speech APIs only (automatic would record for
    # the server: test_widget_voice_server.py).
    set_voice_mode(widget_app_server, "browser")
    page.context.add_init_script(
        "delete window.webkitSpeechRecognition; delete window.SpeechRecognition;"
    )
    chat = open_widget(page, host_site.url("/listen"))
    expect(chat.get_by_label("Message", exact=True)).to_be_visible()
    expect(chat.get_by_role("button", name="Speak your message")).to_be_hidden()


def test_a_same_site_website_lets_the_chat_keep_its_own_session(
    browser_page, shop, host_site, widget_app_server
):
    # 127.0.0.1 on another port: another origin but the same site, so the browser
    # grants the frame its own storage.
    with widget_app_server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        tenant.allowed_origins = [f"http://127.0.0.1:{host_site.port}"]
        db.session.commit()
        db.session.remove()
    page = browser_page
    host_site.publish("/same-site", host_page(shop, None))
    url = host_site.url("/same-site", host="127.0.0.1")
    chat = open_widget(page, url)
    send(chat, "Remember me")
    expect(last_agent_text(chat)).to_have_text("You said: Remember me")
    own = chat_frame(page).evaluate(
        f"JSON.parse(localStorage.getItem('followup-widget:{shop.public_key}'))"
    )
    assert own["customerId"] is None and own["token"]

    chat = open_widget(page, url)
    expect(chat.locator(".msg-client .bubble-text")).to_have_text(["Remember me"])


def test_an_expired_session_gives_a_new_chat_not_an_error(
    browser_page, shop, host_site, widget_app_server
):
    page = browser_page
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    url = host_site.publish("/expired", host_page(shop, None))
    chat = open_widget(page, url)
    send(chat, "Hello from last month")
    expect(last_agent_text(chat)).to_have_text("You said: Hello from last month")

    config = widget_app_server.app.config
    days = config["WIDGET_SESSION_MAX_AGE_DAYS"]
    config["WIDGET_SESSION_MAX_AGE_DAYS"] = -1  # every chat counts as left for too long
    try:
        chat = open_widget(page, url)  # a new chat greets; the old one stays closed
        expect(chat.locator("#messages .msg-agent")).to_have_count(1)
        expect(chat.locator("#messages .msg-client")).to_have_count(0)
    finally:
        config["WIDGET_SESSION_MAX_AGE_DAYS"] = days
    send(chat, "Hello again")
    expect(last_agent_text(chat)).to_have_text("You said: Hello again")
    assert script_errors == []


# A wrong code is refused with 422, which the browser reports.
@pytest.mark.allow_console_errors("HTTP 422 for the document")
def test_customer_logs_in_from_the_widget_and_sees_their_requests(
    browser_page, chromium, shop, host_site, widget_app_server
):
    page = browser_page
    chat = open_widget(page, host_site.publish("/login", host_page(shop, None)))
    chat.get_by_role("button", name="Contact us").click()
    panel = chat.get_by_role("region", name="Contact us")
    expect(panel.get_by_label("Name")).to_be_focused()
    panel.get_by_label("Name").fill("Grace Hopper")
    panel.get_by_label("Email").fill("grace@example.com")
    panel.get_by_label("Reason").fill("Renew my <b>compiler</b> licence")
    panel.get_by_role("button", name="Send request").click()
    expect(panel.locator(".followup-done")).to_contain_text(PROMISE)
    panel.get_by_role("button", name="Close Contact us").click()

    # A submitted form does not log anyone in: the email must be proven first.
    chat.get_by_role("button", name="Log in").click()
    panel = chat.get_by_role("region", name="Log in")
    expect(panel.get_by_label("Email")).to_be_focused()
    with mail.record_messages() as outbox:
        panel.get_by_label("Email").fill("grace@example.com")
        panel.get_by_role("button", name="Email me a login link").click()
        expect(panel.get_by_role("status")).to_have_text(
            "If we know this address, we've emailed you a login link."
        )
    # The chat shows the code the link's page will ask for.
    code = panel.locator(".login-code")
    expect(code).to_have_text(re.compile(r"^[2-9A-HJKMNP-TV-Z]{6}$"))
    shoot(page, "desktop-login-code")
    [email] = outbox
    link = re.search(r"/customer-login/\S+", email.body).group(0)
    assert "type the code shown in that chat window" in email.body

    # The customer opens the link from their mailbox, in another tab, and types the code.
    mailbox = page.context.new_page()
    mailbox.goto(shop.app_url + link)
    expect(mailbox.get_by_text("If you did not ask for a login link")).to_be_visible()
    mailbox.get_by_label("Code shown in the chat window").fill("ABCDEF")
    mailbox.get_by_role("button", name="Log me in").click()
    expect(mailbox.get_by_role("alert")).to_contain_text("That is not the code shown in the chat")
    mailbox.get_by_label("Code shown in the chat window").fill(code.inner_text().lower())
    shoot(mailbox, "desktop-login-code-page")
    mailbox.get_by_role("button", name="Log me in").click()
    expect(mailbox.get_by_role("heading", name="You're logged in")).to_be_visible()
    mailbox.close()

    # Polling brings the news into the open widget, and the account button changes.
    expect(chat.locator(".msg-system .note")).to_contain_text(
        "Logged in as grace@example.com.", timeout=10_000
    )
    chat.get_by_role("button", name="My requests").click()
    panel = chat.get_by_role("region", name="My requests")
    # Newest first: this request, then the one Grace made before (seeded).
    items = panel.locator(".request-item")
    expect(items.locator(".request-reason")).to_have_text(
        [
            "Renew my <b>compiler</b> licence",
            "Question about renewing the compiler licence before Friday.",
        ]
    )
    expect(items.locator(".status-pill")).to_have_text(["Pending", "Pending"])
    expect(items.first.locator("time")).to_have_text(
        re.compile(r"^Submitted (just now|1 minute ago)$")
    )
    shoot(page, "desktop-my-requests")


def test_a_refused_form_puts_the_keyboard_on_the_field_without_a_console_error(
    browser_page, shop, host_site, console_guard
):
    """The chat lives in a frame of another site, where Chromium refuses the autofocus
    attribute with a console error: the script moves the focus instead. The console
    guard fails this test on any error or CSP violation."""
    page = browser_page
    chat = open_widget(page, host_site.publish("/refused", host_page(shop, None)))
    chat.get_by_role("button", name="Contact us").click()
    panel = chat.get_by_role("region", name="Contact us")
    expect(panel.get_by_label("Name")).to_be_focused()
    panel.get_by_label("Name").fill("Ola Nordmann")
    panel.get_by_label("Email").fill("not-an-email")
    panel.get_by_label("Reason").fill("A table\nfor six")
    panel.get_by_role("button", name="Send request").click()

    email = panel.get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()
    expect(email).to_have_value("not-an-email")
    expect(panel.get_by_label("Reason")).to_have_value("A table\nfor six")
    screenshot(page, "widget-contact-refused")
    assert console_guard.problems == []


def test_a_refused_form_keeps_the_csp_when_its_fields_carry_an_inline_style(
    browser_page, shop, host_site, console_guard
):
    """Browser extensions (and a screenshot's caret hiding) put a style attribute on
    inputs. htmx copied it to the fields of the refused form it swapped in, which the
    chat's CSP forbids: only classes and sizes are carried over."""
    page = browser_page
    chat = open_widget(page, host_site.publish("/styled", host_page(shop, None)))
    chat.get_by_role("button", name="Contact us").click()
    panel = chat.get_by_role("region", name="Contact us")
    panel.get_by_label("Name").fill("Ola Nordmann")
    panel.get_by_label("Email").fill("not-an-email")
    panel.get_by_label("Reason").fill("A table for six")
    for label in ("Name", "Email", "Reason"):  # as an extension would, through the CSSOM
        panel.get_by_label(label).evaluate("field => { field.style.outlineOffset = '1px'; }")
    panel.get_by_role("button", name="Send request").click()

    expect(panel.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    assert console_guard.problems == []


# --- telling chats apart ----------------------------------------------------------------------

IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def logged_in_staff(chromium: Browser, app_url: str) -> Page:
    context = chromium.new_context(base_url=app_url, viewport={"width": 1280, "height": 720})
    context.set_default_timeout(10_000)
    page = context.new_page()
    staff_login(page, "/admin/followups")
    return page


def test_staff_tell_chats_apart_by_label_page_referrer_language_and_device(
    chromium, shop, host_site, widget_app_server
):
    """A visitor on an iPhone, browsing in Canadian French, follows a link on the shop's
    site to its oak tables page and chats there. Staff see the chat as "Visitor XXXX",
    with that page, the page they came from, the language and the device; once the
    visitor leaves their name with a request, every list calls them by it."""
    with widget_app_server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        make_agent(tenant, "Alex", steps=1, autofollowup_enabled=True, serves_web_widget=True)
        db.session.remove()
    context = chromium.new_context(user_agent=IPHONE_UA, locale="fr-CA", viewport=PHONE)
    context.set_default_timeout(10_000)
    visitor = context.new_page()
    # The query strings are what a host page's address may carry (an email, a token):
    # only each address's origin and path leave the page, and staff see only those.
    page_url = host_site.publish("/tables/oak", host_page(shop, None))
    link = '<a href="/tables/oak?email=sam%40example.com">Oak tables</a>'
    came_from = host_site.publish("/journal", link)
    visitor.goto(came_from + "?token=s3cret")
    visitor.get_by_role("link", name="Oak tables").click()
    expect(visitor).to_have_url(page_url + "?email=sam%40example.com")
    # A French browser: the loader's words are French.
    visitor.get_by_role("button", name="Ouvrir le chat", include_hidden=True).click()
    frame_src = visitor.locator('iframe[title="Discutez avec nous"]').get_attribute("src")
    assert parse_qs(urlsplit(frame_src).query) == {"page_url": [page_url], "referrer": [came_from]}
    chat = visitor.frame_locator('iframe[title="Discutez avec nous"]')
    send(chat, "Do you deliver oak tables to Lyon?")
    expect(last_agent_text(chat)).to_have_text("You said: Do you deliver oak tables to Lyon?")

    with widget_app_server.app.app_context():
        [chat_row] = db.session.query(Chat).all()
        chat_id, label = chat_row.id, f"Visitor {chat_row.visitor_code}"
        db.session.remove()
    staff = logged_in_staff(chromium, shop.app_url)
    try:
        staff.goto("/admin/auto-followup")
        row = staff.locator(f'.af-row[data-chat-id="{chat_id}"]')
        expect(row.locator(".row-link")).to_have_text(label)
        short_page = page_url.removeprefix("http://")
        expect(row.locator(".visit-line > span")).to_have_text(["Mobile", "fr-CA", short_page])
        screenshot(staff, "chat-visitor-dashboard")

        row.locator(".row-link").click()
        expect(staff).to_have_url(re.compile(rf"/admin/chats/{chat_id}$"))
        expect(staff.get_by_role("heading", level=1)).to_have_text(label)
        card = staff.locator(".chat-side .chat-facts").first
        for term, value in (
            ("Label", label),
            ("Started on", page_url),
            ("Referrer", came_from),
            ("Language", "fr-CA"),
            ("Device", "Mobile"),
        ):
            expect(card.locator(f'dt:text-is("{term}") + dd')).to_have_text(value)
        screenshot(staff, "chat-visitor-chat-view")

        # The visitor leaves their name with a request: every list now says it. The
        # chat speaks the browser's language (French).
        chat.get_by_role("button", name="Nous contacter").click()
        panel = chat.get_by_role("region", name="Nous contacter")
        panel.get_by_label("Nom").fill("Sam Carter")
        panel.get_by_label("E-mail").fill("sam@example.com")
        panel.get_by_label("Motif").fill("Delivery of two oak tables to Lyon")
        panel.get_by_role("button", name="Envoyer la demande").click()
        expect(panel.locator(".followup-done")).to_contain_text(
            "Nous vous recontacterons sous 24 heures."
        )

        staff.reload()
        expect(staff.get_by_role("heading", level=1)).to_have_text("Sam Carter")
        expect(card.locator('dt:text-is("Label") + dd')).to_have_text(label)
        staff.goto("/admin/users")
        user_card = staff.locator(".user-card").filter(has_text="sam@example.com")
        expect(user_card.locator(".card-name")).to_have_text("Sam Carter")
        expect(user_card.locator(".user-chat-count")).to_have_text("1 chat")
        user_card.locator(".card-link").click()
        expect(staff.locator("#user-detail-name")).to_have_text("Sam Carter")
        chat_item = staff.locator(f"#chat-{chat_id}")
        expect(chat_item.locator(".chat-title")).to_have_text(label)
        expect(chat_item.locator(".visit-line > span")).to_have_text(
            ["Mobile", "fr-CA", short_page]
        )
        screenshot(staff, "chat-visitor-users")
    finally:
        staff.context.close()
        context.close()
