"""The widget's chat page and its HTMX routes under /w/: framing, session, streaming,
forms, Contact us, log-in, polling, escaping, and who may see which chat."""

import http.client
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine
from sqlalchemy import func, select

from followup.extensions import db, mail
from followup.models import FollowUpRequest, Message, Role, Source
from followup.services import chats, customer_login
from followup.services.prefill import identity_signature
from followup.web.widget import access
from tests.helpers.database_work import database_work
from tests.helpers.templates import assert_rendered
from tests.helpers.widget import (
    Visitor,
    ask_for_a_person,
    form_key_of,
    parse_sse,
    stored_chat,
    stream_url,
    submit,
)

PROMISE = "We'll contact you within 24 hours."
HTML_PROMISE = PROMISE.replace("'", "&#39;")
SHOP = "https://shop.example"
FALLBACK_START = "Sorry, I can't answer right now."
SCRIPT = "<script>alert('x')</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


def signed(tenant, **fields) -> str:
    """What the website's `FollowupWidget.customer` becomes in the page's start request."""
    customer = {"id": "cust-42", "signature": identity_signature(tenant.widget_secret, "cust-42")}
    return json.dumps(customer | fields)


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


# --- the snippet and the page ----------------------------------------------------------------


def test_widget_js_is_served_as_cacheable_javascript(client):
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    script = response.get_data(as_text=True)
    assert ".currentScript" in script and 'labels.chat || "Chat with us"' in script
    assert "postMessage(message, origin)" in script  # the customer goes to our origin only


def test_chat_page_may_be_framed_by_the_tenants_origins_only(client, tenant):
    tenant.allowed_origins = [SHOP, "http://localhost:8000/"]
    db.session.commit()
    with assert_rendered(client, "widget/page.html"):
        response = client.get(f"/w/{tenant.widget_public_key}")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://shop.example http://localhost:8000" in policy
    assert policy.endswith("http://localhost:8000")
    assert "script-src 'self'" in policy
    page = response.get_data(as_text=True)
    assert "<title>Chat with Acme Inc</title>" in page
    assert f'data-chats-url="/w/{tenant.widget_public_key}/chats"' in page
    assert "static/js/widget-chat.js" in page and "htmx-ext-sse-2.2.4.min.js" in page
    assert "Set-Cookie" not in response.headers


def test_without_allowed_origins_only_we_may_frame_the_chat(client, tenant):
    response = client.get(f"/w/{tenant.widget_public_key}")
    assert response.headers["Content-Security-Policy"].endswith("; frame-ancestors 'self'")


def test_origins_that_are_not_origins_never_reach_the_header(client, tenant):
    tenant.allowed_origins = [
        "https://ok.example",
        "https://evil.example; script-src *",
        "javascript:alert(1)",
        "https://a.example https://b.example",
        42,
    ]
    db.session.commit()
    policy = client.get(f"/w/{tenant.widget_public_key}").headers["Content-Security-Policy"]
    assert policy.endswith("frame-ancestors 'self' https://ok.example")
    assert policy.count("script-src") == 1


def presence_of(page: str) -> str:
    found = re.search(r'<p class="presence" id="presence">(.*?)</p>', page, re.S)
    assert found, page
    return unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def test_the_presence_line_says_the_ai_answers_when_a_model_is_configured(client, tenant):
    page = client.get(f"/w/{tenant.widget_public_key}").get_data(as_text=True)
    assert presence_of(page) == "Alex, the AI assistant, replies in seconds"
    assert "is-away" not in page


@pytest.mark.parametrize(
    ("followups_enabled", "line"),
    [
        (True, "Leave your details and we'll get back to you within 48 hours"),
        (False, "Leave a message and our team will reply here"),
    ],
    ids=["followups-on", "followups-off"],
)
def test_without_a_model_the_presence_line_says_who_answers_and_when(
    app, client, tenant, followups_enabled, line
):
    app.config.update(OPENAI_BASE_URL=None, OPENAI_API_KEY=None)
    tenant.response_time_hours = 48
    tenant.followups_enabled = followups_enabled
    db.session.commit()
    page = client.get(f"/w/{tenant.widget_public_key}").get_data(as_text=True)
    assert presence_of(page) == line
    assert 'class="presence-dot is-away"' in page and "in seconds" not in page


def test_unknown_key_is_a_404_page(client, tenant):
    response = client.get("/w/pk_nope")
    assert response.status_code == 404
    assert "Unknown widget key." in response.get_data(as_text=True)


# --- starting and restoring a chat -----------------------------------------------------------


def test_starting_a_chat_renders_the_greeting_and_hands_over_the_session(client, tenant):
    visitor = Visitor(client, tenant)
    with assert_rendered(client, "widget/_chat.html"):
        response = visitor.start(signed(tenant, name="Maria Garcia", email="maria@example.com"))
    html = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    # The signature covers the id, not the name beside it: the greeting names nobody.
    assert "Hi! I&#39;m Alex from Acme Inc. How can I help you today?" in html
    assert 'role="log" aria-live="polite"' in html
    assert 'id="chat-actions"' in html and 'hx-swap-oob="true"' in html
    # Signed in as the website's customer cust-42: their requests, no log-in.
    assert ">Contact us</button>" in html and ">My requests</button>" in html
    chat = stored_chat(visitor.chat_id)
    assert chat.visitor["verified"] is True and chat.visitor["name"] == "Maria Garcia"
    assert chat.customer.external_id == "cust-42"
    opened, business, _agent = chats.chat_for_session(visitor.token, visitor.chat_id)
    assert (opened.id, business.id) == (chat.id, tenant.id)


def test_a_name_beside_a_signed_id_is_not_greeted(client, tenant):
    """Whoever holds their own valid signature can put anybody's name beside it."""
    visitor = Visitor(client, tenant)
    html = visitor.start(signed(tenant, name="  Ada\n <b>Lovelace</b> ")).get_data(as_text=True)
    assert "Hi! I&#39;m Alex from Acme Inc." in html
    assert "Ada" not in html and "<b>" not in html


@pytest.mark.parametrize(
    "customer",
    [
        json.dumps({"id": "cust-42", "name": "Maria Garcia", "email": "maria@example.com"}),
        json.dumps({"id": "cust-42", "name": "Maria Garcia", "signature": "0" * 64}),
    ],
    ids=["unsigned", "badly-signed"],
)
def test_an_unsigned_name_only_prefills_the_form_and_never_changes_the_greeting(
    client, tenant, customer
):
    visitor = Visitor(client, tenant)
    html = visitor.start(customer).get_data(as_text=True)
    assert "Hi! I&#39;m Alex from Acme Inc. How can I help you today?" in html
    assert "Maria" not in html
    panel = visitor.get("contact").get_data(as_text=True)
    assert 'id="contact-name" name="name" type="text" value="Maria Garcia"' in panel


@pytest.mark.parametrize("customer", ["not json", '["a list"]', "{" * 5000])
def test_unusable_customer_data_still_starts_an_anonymous_chat(client, tenant, customer):
    visitor = Visitor(client, tenant)
    visitor.start(customer)
    assert stored_chat(visitor.chat_id).visitor == {}


def test_reload_restores_the_history_of_the_stored_chat(visitor, fake_llm):
    visitor.say("hello there")
    with assert_rendered(visitor.client, "widget/_chat.html"):
        response = visitor.get()
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.index("How can I help you today?") < html.index("hello there")
    assert html.index("hello there") < html.index("You said: hello there")


# --- sending and streaming -------------------------------------------------------------------


def test_sending_returns_the_bubble_and_a_reply_that_streams(visitor, fake_llm):
    with assert_rendered(visitor.client, "widget/_sent.html"):
        response = visitor.send("What are your opening hours?")
    html = response.get_data(as_text=True)
    assert 'class="msg msg-client"' in html and "What are your opening hours?" in html
    assert 'sse-swap="done" sse-close="done"' in html and 'sse-swap="delta"' in html
    with assert_rendered(visitor.client, "widget/_reply.html"):  # the `done` bubble
        stream = visitor.client.get(stream_url(html))
        events = parse_sse(stream.get_data(as_text=True))
    assert stream.headers["Cache-Control"] == "no-store"
    deltas = [data for name, data in events if name == "delta"]
    assert len(deltas) > 3 and "".join(deltas) == "You said: What are your opening hours?"
    [(last, bubble)] = events[-1:]
    assert last == "done" and [name for name, _ in events].count("done") == 1
    reply = chats.history(stored_chat(visitor.chat_id))[-1]
    assert reply.role == Role.AGENT and reply.content == "You said: What are your opening hours?"
    assert f'data-message-id="{reply.id}" data-reply="true"' in bubble
    assert ">You said: What are your opening hours?</span>" in bubble


def test_while_staff_is_in_charge_their_reply_shows_and_no_ai_bubble_comes(
    client, tenant, staff, fake_llm
):
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False) as clock:
        visitor = Visitor(client, tenant)
        visitor.start()
        greeting = chats.history(stored_chat(visitor.chat_id))[-1]
        chats.post_staff_reply(stored_chat(visitor.chat_id), staff, "Hi, Olivia here.")
        clock.shift(timedelta(minutes=29))
        # The page has the greeting only: no poll has brought the staff reply yet, so the
        # answer to the customer's message shows it first, in its place.
        question = "Hi Olivia, is the oak table in stock?"
        sent = visitor.post("messages", {"text": question, "after": str(greeting.id)})
        html = sent.get_data(as_text=True)
        assert html.index(">Olivia · Acme Inc team</span>") < html.index("Hi, Olivia here.")
        assert html.index("Hi, Olivia here.") < html.index(question) < html.index("msg-streaming")
        events = parse_sse(visitor.client.get(stream_url(html)).get_data(as_text=True))
        assert len(fake_llm.requests) == 0
        # One `done`: it replaces the typing bubble and frees the composer (data-reply).
        [(name, note)] = events
        assert name == "done"
        assert '<div class="msg msg-system" data-reply="true">' in note
        assert "Acme Inc team is in this chat and will reply here." in note
        assert "msg-agent" not in note
        last = chats.history(stored_chat(visitor.chat_id))[-1]
        assert (last.role, last.content) == (Role.CLIENT, question)
        refused = visitor.post("messages", {"text": "Hello?", "after": "a message"})
        assert refused.status_code == 422 and count(Message) == 3  # nothing saved

        clock.shift(timedelta(minutes=1))  # 30 minutes after the staff reply
        events = visitor.say("Hello?")
        assert "".join(data for name, data in events if name == "delta") == "You said: Hello?"
        assert 'class="msg msg-agent"' in events[-1][1]


def test_a_stream_opened_again_replays_the_saved_reply_without_asking_the_model(visitor, fake_llm):
    html = visitor.send("hello").get_data(as_text=True)
    first = parse_sse(visitor.client.get(stream_url(html)).get_data(as_text=True))
    calls = len(fake_llm.requests)
    again = parse_sse(visitor.client.get(stream_url(html)).get_data(as_text=True))
    assert len(fake_llm.requests) == calls
    assert [name for name, _ in again] == ["done"] and again[0][1] == first[-1][1]


def test_stream_link_is_bound_to_its_chat_and_expires(client, tenant, visitor, fake_llm):
    html = visitor.send("hello").get_data(as_text=True)
    url = stream_url(html)
    other = Visitor(client, tenant)
    other.start()
    assert (
        client.get(
            url.replace(f"/chats/{visitor.chat_id}/", f"/chats/{other.chat_id}/")
        ).status_code
        == 404
    )
    assert client.get(url.split("?")[0] + "?token=forged").status_code == 404
    with time_travel(access.STREAM_TOKEN_MAX_AGE_S + 5):
        assert client.get(url).status_code == 404
    assert count(Message) == 3  # two greetings and the message: no reply was made


def test_a_stream_link_of_another_widget_is_refused(
    client, tenant, other_tenant, visitor, fake_llm
):
    url = stream_url(visitor.send("hello").get_data(as_text=True))
    other_key = other_tenant.widget_public_key
    assert (
        client.get(url.replace(f"/w/{tenant.widget_public_key}/", f"/w/{other_key}/")).status_code
        == 404
    )


def test_the_reply_stream_asks_the_model_after_one_connection_and_three_statements(
    visitor, fake_llm
):
    """Time to the first token: the stream link is checked without the database; the
    chat (with its business and agent), the claim of the turn (which also finds an
    answer already made, for a stream opened again) and the history come on one
    connection, in one transaction."""
    url = stream_url(visitor.send("hello").get_data(as_text=True))
    db.session.commit()  # the test shares the app's session: no transaction left open
    with database_work() as seen:
        response = visitor.client.get(url)  # read up to the first piece of the reply
        before_first_token = list(seen)
        rest = response.get_data(as_text=True)
    assert before_first_token == ["CHECKOUT", "SELECT", "UPDATE", "SELECT", "COMMIT"]
    assert "event: done" in rest


def test_the_reply_stream_holds_no_database_connection_while_the_model_thinks(visitor, fake_llm):
    engine = db.engine
    held = []
    fake_llm.behaviour.on_request = lambda _body: held.append(engine.pool.checkedout())
    url = stream_url(visitor.send("hello").get_data(as_text=True))
    db.session.commit()  # the test shares the app's session: no transaction left open
    assert "You said: hello" in visitor.client.get(url).get_data(as_text=True)
    assert held == [0]


def time_travel(seconds: float):
    return time_machine.travel(time.time() + seconds, tick=False)


def test_empty_message_is_refused_with_an_alert(visitor):
    response = visitor.send("   ")
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#alerts"
    assert "Message: please fill this in." in response.get_data(as_text=True)


def test_customer_markup_is_escaped_in_the_bubble_the_stream_and_the_history(visitor, fake_llm):
    sent = visitor.send(SCRIPT).get_data(as_text=True)
    assert SCRIPT not in sent and ESCAPED_SCRIPT in sent
    events = parse_sse(visitor.client.get(stream_url(sent)).get_data(as_text=True))
    body = "".join(data for _, data in events)
    assert "<script" not in body and "&lt;script&gt;" in body
    history = visitor.get().get_data(as_text=True)
    assert "<script>" not in history
    assert history.count(ESCAPED_SCRIPT) == 2  # the message and the echo


# --- the follow-up form ----------------------------------------------------------------------


def test_the_ai_offer_shows_the_form_prefilled_from_the_signed_identity(client, tenant, fake_llm):
    visitor = Visitor(client, tenant)
    visitor.start(signed(tenant, name="Maria Garcia", email="maria@example.com"))
    bubble = ask_for_a_person(visitor)
    assert "I can ask our team to contact you personally." in bubble
    assert 'id="followup-m' in bubble and bubble.count(HTML_PROMISE) == 1
    assert re.search(r'id="m\d+-name" name="name" type="text" value="Maria Garcia"', bubble)
    assert 'value="maria@example.com"' in bubble
    assert re.search(
        r'<textarea id="m\d+-reason"[^>]*>Customer asked: Can I talk to a person', bubble
    )
    assert re.search(r'<label for="m\d+-phone">Phone <span class="optional">\(optional\)', bubble)


def bubble_text(bubble: str) -> str:
    return unescape(re.search(r'<span class="bubble-text">(.*?)</span>', bubble, re.S).group(1))


@pytest.mark.parametrize(
    ("model_text", "shown"),
    [
        (None, "I can ask our team to contact you personally."),
        (
            "Sure, I'll pass this on. We'll contact you within 24 hours.",
            "Sure, I'll pass this on.",
        ),
        ("I'll arrange it. We will get back to you within 12 hours!", "I'll arrange it."),
        ("", "Leave your details below and the team will get back to you."),
        (
            "We'll contact you within 24 hours.",
            "Leave your details below and the team will get back to you.",
        ),
    ],
    ids=["offer", "offer-with-promise", "other-promise", "no-text", "promise-only"],
)
def test_an_offer_says_when_the_team_answers_once_in_its_form(visitor, fake_llm, model_text, shown):
    fake_llm.behaviour.reply_text = model_text
    bubble = ask_for_a_person(visitor)
    assert bubble_text(bubble) == shown
    assert bubble.count(HTML_PROMISE) == 1
    assert re.search(r'<p class="promise">.*?<span>' + re.escape(HTML_PROMISE), bubble)
    assert "within 12 hours" not in bubble


def test_submitting_the_form_confirms_with_the_response_time(client, tenant, fake_llm):
    visitor = Visitor(client, tenant)
    visitor.start(signed(tenant, name="Maria Garcia", email="maria@example.com"))
    key = form_key_of(ask_for_a_person(visitor))
    response = submit(
        visitor,
        key,
        name="Maria Garcia",
        email="maria@example.com",
        phone="+1 415 555 0100",
        reason="Bulk order of 40 chairs",
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="followup-{key}"' in html and "Request sent" in html
    assert 'hx-swap-oob="beforeend:#messages"' in html
    # Said once: by the thank-you, right below the confirmation that replaces the form.
    assert html.count(HTML_PROMISE) == 1
    assert (
        f"Thank you, Maria Garcia! Your request has been sent to our team. {HTML_PROMISE}" in html
    )
    db.session.rollback()
    [saved] = db.session.scalars(select(FollowUpRequest)).all()
    # The website's customer cust-42 asked; the email beside its id is not signed.
    assert (saved.chat_id, saved.source, saved.identity_verified) == (
        visitor.chat_id,
        Source.TEXT,
        False,
    )
    assert saved.customer.external_id == "cust-42"
    assert saved.reason == "Bulk order of 40 chairs" and saved.phone == "+14155550100"
    # After a reload the form is not offered again; the thank-you tells what happened.
    history = visitor.get().get_data(as_text=True)
    assert 'class="followup-card"' not in history and "Thank you, Maria Garcia!" in history


def test_bad_fields_come_back_inline_and_nothing_is_saved(visitor, fake_llm):
    key = form_key_of(ask_for_a_person(visitor))
    response = submit(visitor, key, name="", email="nope", phone="12", reason="")
    assert response.status_code == 422
    assert "HX-Retarget" not in response.headers  # the form itself, not an alert
    html = response.get_data(as_text=True)
    assert html.count('aria-invalid="true"') == 4
    for field in ("name", "email", "phone", "reason"):
        assert f'id="{key}-{field}-error"' in html
    assert re.search(
        rf'id="{key}-name"[^>]*aria-invalid="true" '
        rf'aria-describedby="{key}-name-error" data-autofocus',
        html,
    )
    assert html.count("data-autofocus") == 1  # the first field in error
    assert " autofocus" not in html  # refused in a frame on another site
    assert f'aria-describedby="{key}-phone-hint {key}-phone-error"' in html
    assert 'value="nope"' in html  # what they typed stays
    assert count(FollowUpRequest) == 0


def test_a_made_up_form_key_is_refused(visitor):
    response = submit(visitor, '"><script>', name="A", email="a@example.com", reason="r")
    assert response.status_code == 422 and count(FollowUpRequest) == 0


def test_with_the_model_down_the_reply_says_so_and_offers_the_form(visitor, fake_llm):
    fake_llm.behaviour.fail_status = 500
    [(name, bubble)] = visitor.say("hello?")
    assert name == "done"
    assert bubble_text(bubble) == (
        f"{FALLBACK_START} Leave your details below and the team will get back to you."
    )
    assert "Your contact details" in bubble and 'name="form_key"' in bubble
    assert bubble.count(HTML_PROMISE) == 1  # in the form


# --- Contact us ------------------------------------------------------------------------------


def test_contact_us_shows_the_form_without_the_ai(client, tenant, fake_llm):
    visitor = Visitor(client, tenant)
    visitor.start(signed(tenant, name="Maria Garcia", email="maria@example.com"))
    with assert_rendered(client, "widget/_contact.html"):
        response = visitor.get("contact")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<h2 id="panel-title" tabindex="-1">Contact us</h2>' in html
    assert 'id="contact-name" name="name" type="text" value="Maria Garcia"' in html
    assert 'id="contact-name"' in html and re.search(r'id="contact-name"[^>]*data-autofocus', html)
    assert html.count(HTML_PROMISE) == 1
    assert fake_llm.requests == []
    response = submit(
        visitor, "contact", name="Maria Garcia", email="maria@example.com", reason="Call me"
    )
    sent = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="followup-contact"' in sent
    # The panel covers the conversation: its confirmation says when the team answers.
    card, thanks = sent.split('hx-swap-oob="beforeend:#messages"')
    assert card.count(HTML_PROMISE) == 1 and thanks.count(HTML_PROMISE) == 1
    assert count(FollowUpRequest) == 1


def test_contact_us_is_gone_when_followups_are_off(client, tenant):
    tenant.followups_enabled = False
    db.session.commit()
    visitor = Visitor(client, tenant)
    html = visitor.start().get_data(as_text=True)
    assert "Contact us" not in html
    response = visitor.get("contact")
    assert response.status_code == 409 and response.headers["HX-Retarget"] == "#alerts"


# --- log-in and My requests ------------------------------------------------------------------


def test_login_link_same_answer_for_everyone_email_only_for_customers(
    visitor, tenant, make_followup
):
    make_followup(tenant, name="Maria Garcia", email="maria@example.com")
    form = visitor.get("login").get_data(as_text=True)
    assert 'id="login-email"' in form and "data-autofocus" in form
    answers = []
    with mail.record_messages() as outbox:
        for email in ("Maria@Example.com", "stranger@example.com"):
            response = visitor.post("login", {"email": email})
            assert response.status_code == 200
            answers.append(response.get_data(as_text=True))
    # The same but for the code each answer shows (a new one every time).
    code = re.compile(r'<p class="login-code"[^>]*>\w{6}</p>')
    assert code.sub("", answers[0]) == code.sub("", answers[1])
    assert code.search(answers[0]) and code.search(answers[1])
    assert "If we know this address, we've emailed you a login link." in answers[0]
    [message] = outbox
    assert message.recipients == ["maria@example.com"]
    assert re.search(r"http://localhost/customer-login/\S+", message.body)


def test_login_needs_a_valid_email(visitor):
    response = visitor.post("login", {"email": "not an email"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="login-email"' in html and 'aria-invalid="true"' in html
    assert "Email: enter an address like name@example.com." in html


def log_in_through_the_link(visitor: Visitor, email: str) -> None:
    """Ask for a link, then use it with the code the widget showed."""
    with mail.record_messages() as outbox:
        shown = visitor.post("login", {"email": email}).get_data(as_text=True)
    [message] = outbox
    token = re.search(r"/customer-login/(\S+)", message.body).group(1)
    code = re.search(r'<p class="login-code"[^>]*>(\w{6})</p>', shown).group(1)
    customer_login.consume_login_link(token, code)


def test_polling_shows_the_login_and_then_my_requests(visitor, tenant, make_followup):
    make_followup(tenant, name="Maria Garcia", email="maria@example.com", reason="Old <b>order</b>")
    last_seen = chats.history(stored_chat(visitor.chat_id))[-1].id
    nothing_new = visitor.get("messages", query_string={"after": last_seen})
    assert nothing_new.status_code == 200 and nothing_new.get_data(as_text=True).strip() == ""

    log_in_through_the_link(visitor, "maria@example.com")
    news = visitor.get("messages", query_string={"after": last_seen}).get_data(as_text=True)
    assert "Logged in as maria@example.com." in news and 'class="msg msg-system"' in news
    assert 'id="account" hx-swap-oob="true"' in news and ">My requests</button>" in news
    assert "How can I help" not in news  # only what is new

    # A staff reply (human takeover) arrives the same way, marked as the team's.
    db.session.add(Message(chat_id=visitor.chat_id, role=Role.STAFF, content="Hi, Sam here"))
    db.session.commit()
    news = visitor.get("messages", query_string={"after": last_seen + 1}).get_data(as_text=True)
    assert 'class="msg msg-staff"' in news and ">Acme Inc team</span>" in news
    assert "Logged in as" not in news

    panel = visitor.get("requests").get_data(as_text=True)
    assert "Old &lt;b&gt;order&lt;/b&gt;" in panel
    assert '<span class="status-pill status-pending">Pending</span>' in panel
    assert "Submitted just now" in panel


def test_typing_someones_email_into_a_form_does_not_reveal_their_requests(
    visitor, tenant, make_followup, fake_llm
):
    make_followup(tenant, name="Victim", email="victim@example.com", reason="Private matter")
    key = form_key_of(ask_for_a_person(visitor))
    submit(visitor, key, name="Mallory", email="victim@example.com", reason="Hi")
    panel = visitor.get("requests").get_data(as_text=True)
    assert "Private matter" not in panel and "Log in to see your requests." in panel
    assert ">Log in</button>" in visitor.get().get_data(as_text=True)


@pytest.mark.parametrize("after", ["-1", "abc", str(2**31), "²"])
def test_polling_refuses_a_bad_after(visitor, after):
    assert visitor.get("messages", query_string={"after": after}).status_code == 422


# --- whose chat is it ------------------------------------------------------------------------

CHAT_ROUTES = [
    ("GET", ""),
    ("GET", "messages?after=0"),
    ("POST", "messages"),
    ("GET", "contact"),
    ("POST", "followups"),
    ("GET", "login"),
    ("POST", "login"),
    ("GET", "requests"),
]


@pytest.mark.parametrize(("method", "tail"), CHAT_ROUTES)
def test_another_chats_token_a_made_up_one_or_another_tenants_key_is_404(
    client, tenant, other_tenant, method, tail
):
    mine, theirs = Visitor(client, tenant), Visitor(client, tenant)
    mine.start()
    theirs.start()
    data = {"text": "hi", "form_key": "contact", "email": "a@example.com"}
    attempts = {
        "their token": {"Authorization": f"Bearer {theirs.token}"},
        "no token": {},
        "made-up token": {"Authorization": "Bearer eyJjaGF0IjoxfQ.forged"},
    }
    for name, headers in attempts.items():
        response = client.open(mine.url(tail), method=method, data=data, headers=headers)
        assert response.status_code == 404, name
    other_key_url = mine.url(tail).replace(tenant.widget_public_key, other_tenant.widget_public_key)
    response = client.open(
        other_key_url, method=method, data=data, headers={"Authorization": f"Bearer {mine.token}"}
    )
    assert response.status_code == 404
    assert count(Message) == 2  # the greetings only


# --- limits ----------------------------------------------------------------------------------


def test_login_links_are_rate_limited_per_session(visitor):
    for _ in range(5):
        assert visitor.post("login", {"email": "someone@example.com"}).status_code == 200
    response = visitor.post("login", {"email": "someone@example.com"})
    assert response.status_code == 429 and "Retry-After" in response.headers


def test_oversized_body_is_413(visitor):
    response = visitor.post("messages", {"text": "x" * 40_000})
    assert response.status_code == 413
    assert count(Message) == 1


# --- through a real server: the customer leaves mid-reply ------------------------------------


def test_a_reply_is_finished_and_saved_when_the_customer_leaves_mid_stream(
    visitor, fake_llm, live_port
):
    fake_llm.behaviour.reply_text = " ".join(f"word{n}" for n in range(40))
    fake_llm.behaviour.token_delay_s = 0.02
    url = stream_url(visitor.send("tell me a story").get_data(as_text=True))
    connection = http.client.HTTPConnection("127.0.0.1", live_port, timeout=10)
    connection.request("GET", url)
    response = connection.getresponse()
    assert response.readline() == b"event: delta\n"
    response.close()  # reload or closed tab: the socket goes away
    connection.close()

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        last = chats.history(stored_chat(visitor.chat_id))[-1]
        if last.role == Role.AGENT and last.content.startswith("word0"):
            break
        time.sleep(0.05)
    assert last.content == fake_llm.behaviour.reply_text


# --- through a real server: one answer however many streams ask for it ------------------------

STREAMS = 5


def read_stream(port: int, url: str, on_first_line) -> list[tuple[str, str]]:
    """Open a reply stream as a browser's EventSource does; `on_first_line` gets its first line
    (an SSE comment while another stream writes the answer)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", url)
        response = connection.getresponse()
        first = response.readline()
        on_first_line(first)
        body = (first + response.read()).decode()
    finally:
        connection.close()
    # Comments (":" lines) are for proxies; browsers drop them, and so does this.
    return parse_sse("\n\n".join(b for b in body.split("\n\n") if not b.startswith(":")) + "\n\n")


def wait_for(condition, what: str, limit_s: float = 20) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def answers_in(chat_id: int) -> list[Message]:
    return [m for m in chats.history(stored_chat(chat_id)) if m.role == Role.AGENT][1:]


def test_five_streams_of_one_message_get_the_one_answer_of_one_model_call(
    visitor, fake_llm, live_port
):
    """EventSource reconnects and two tabs: the model stays busy until every stream is
    open, and each of them ends with the one answer."""
    model_may_answer = threading.Event()
    fake_llm.behaviour.on_request = lambda _body: model_may_answer.wait(timeout=20)
    url = stream_url(visitor.send("hello").get_data(as_text=True))
    first_lines: list[bytes] = []
    results: list[list[tuple[str, str]]] = []

    def stream() -> None:
        results.append(read_stream(live_port, url, first_lines.append))

    threads = [threading.Thread(target=stream) for _ in range(STREAMS)]
    for thread in threads:
        thread.start()
    # Every stream is open: one asks the model, the others wait (or, unfixed, ask too).
    wait_for(
        lambda: (
            len(fake_llm.requests) > 1
            or (len(fake_llm.requests) == 1 and len(first_lines) == STREAMS - 1)
        ),
        "the streams to open",
    )
    model_may_answer.set()
    for thread in threads:
        thread.join(timeout=30)

    assert len(fake_llm.requests) == 1
    answers = answers_in(visitor.chat_id)
    assert [a.content for a in answers] == ["You said: hello"]
    assert len(results) == STREAMS
    bubbles = {events[-1] for events in results}
    assert len(bubbles) == 1 and "You said: hello" in bubbles.pop()[1]


def test_a_stream_takes_over_the_answer_of_one_that_died_after_the_lease(
    visitor, fake_llm, live_port
):
    url = stream_url(visitor.send("hello").get_data(as_text=True))
    message = chats.history(stored_chat(visitor.chat_id))[-1]
    with time_machine.travel(datetime.now(UTC), tick=True) as traveller:
        # A stream claimed the turn, then its process was killed: the claim stays.
        message.answer_claimed_at = datetime.now(UTC)
        db.session.commit()
        waiting = threading.Event()
        results = []
        reader = threading.Thread(
            target=lambda: results.append(read_stream(live_port, url, lambda _: waiting.set()))
        )
        reader.start()
        assert waiting.wait(timeout=20)
        assert fake_llm.requests == []  # it waits for the other stream's answer
        traveller.shift(chats.MIN_ANSWER_LEASE_S + 1)
        reader.join(timeout=30)
    assert len(fake_llm.requests) == 1
    assert [a.content for a in answers_in(visitor.chat_id)] == ["You said: hello"]
    assert "You said: hello" in results[0][-1][1]
