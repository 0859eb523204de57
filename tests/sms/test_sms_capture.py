"""A follow-up captured by SMS, where no form can be shown: after the AI offers one (or
cannot answer at all), our code asks for what is missing by text, reads the details
back and creates the request on the customer's yes. Inbound texts are signed as
Twilio signs them and answers go out through the local Twilio server; every test runs
on SQLite and PostgreSQL."""

import re

import pytest
from sqlalchemy import select

from followup.clock import utcnow
from followup.extensions import db
from followup.llm.client import Completion
from followup.models import (
    Agent,
    AutoFollowupStep,
    Chat,
    FollowUpRequest,
    Notification,
    NotificationChannel,
    Source,
)
from followup.services import chats, reminder_sending
from tests.fakes.openai_server import OFFER_TEXT
from tests.helpers.sms import CUSTOMER_NUMBER, count, the_chat

STAFF_NUMBER = "+14155550100"
THANKS = "Your request has been sent to our team. We'll contact you within 24 hours."
FORM = re.compile(r"\bforms?\b", re.I)
MARKDOWN = re.compile(r"\*\*|__|`|^#|^\s*[-*] |\[[^]]*\]\(", re.M)


@pytest.fixture
def customer_texts(app, agent, sms, twilio):
    """Text the agent as the customer; returns what the agent texted back (one SMS)."""

    def send(body: str) -> str:
        before = len(texts_to_customer(twilio))
        assert sms.send(body).status_code == 200
        (answer,) = texts_to_customer(twilio)[before:]
        return answer

    return send


def texts_to_customer(twilio) -> list[str]:
    return [m.body for m in twilio.messages if m.to == CUSTOMER_NUMBER]


def the_request() -> FollowUpRequest:
    db.session.rollback()  # see what the requests committed
    return db.session.scalars(select(FollowUpRequest)).one()


def summary(name: str, email: str, phone: str, reason: str) -> str:
    return (
        f"Please check your details:\nName: {name}\nEmail: {email}\nPhone: {phone}\n"
        f"Request: {reason}\nReply YES to send this to our team, or tell me what to change."
    )


def assert_plain_texts_without_a_form(twilio) -> None:
    for body in texts_to_customer(twilio):
        assert not FORM.search(body), body
        assert not MARKDOWN.search(body), body


def test_the_ai_offers_a_follow_up_and_the_customer_confirms_by_text(
    app, tenant, agent, twilio, fake_llm, customer_texts
):
    tenant.contact_phone, tenant.sms_enabled = STAFF_NUMBER, True
    db.session.commit()
    asked = "Hi, I'm Maria Garcia. Can I talk to a person about a bulk order? It's urgent"

    # The name she gave and the number she texts from are known; only the email is asked.
    assert customer_texts(asked) == f"{OFFER_TEXT} What's your email address?"
    read_back = customer_texts("maria@example.com")
    assert read_back == summary(
        "Maria Garcia", "maria@example.com", CUSTOMER_NUMBER, f"Customer asked: {asked}"
    )
    assert count(FollowUpRequest) == 0  # nothing before the yes

    assert customer_texts("YES") == f"Thank you, Maria Garcia! {THANKS}"
    followup = the_request()
    assert (followup.name, followup.email, followup.phone, followup.reason) == (
        "Maria Garcia",
        "maria@example.com",
        CUSTOMER_NUMBER,
        f"Customer asked: {asked}",
    )
    assert (followup.source, followup.priority, followup.summary) == (
        Source.TEXT,
        "high",
        "The customer asked to be contacted by a person.",
    )
    chat = db.session.scalars(select(Chat)).one()
    assert followup.chat_id == chat.id and chat.customer_id == followup.customer_id
    assert followup.identity_verified is False  # a sender's number proves no identity
    assert not chat.followup_capture
    notifications = db.session.scalars(select(Notification)).all()
    assert {(n.followup_id, n.channel, n.recipient) for n in notifications} == {
        (followup.id, NotificationChannel.STAFF_EMAIL, "team@acme.example"),
        (followup.id, NotificationChannel.STAFF_SMS, STAFF_NUMBER),
        (followup.id, NotificationChannel.CUSTOMER_EMAIL, "maria@example.com"),
    }
    assert_plain_texts_without_a_form(twilio)
    # The model was asked once, told how SMS works; our code ran the rest.
    (request,) = fake_llm.requests
    system = request["messages"][0]["content"]
    assert "by text message" in system and "plain text only" in system
    assert not FORM.search(system) and not FORM.search(str(request["tools"]))


def test_any_detail_can_be_corrected_by_text_before_the_yes(
    app, agent, twilio, fake_llm, customer_texts
):
    asked = "Can I speak to someone about my invoice?"
    reason = f"Customer asked: {asked}"
    assert customer_texts(asked).endswith("What's your email address?")
    assert customer_texts("my email is ann@example.com") == "What's your name?"
    assert customer_texts("Ann Lee") == summary(
        "Ann Lee", "ann@example.com", CUSTOMER_NUMBER, reason
    )

    assert customer_texts("My email is actually ann.lee@example.com") == summary(
        "Ann Lee", "ann.lee@example.com", CUSTOMER_NUMBER, reason
    )
    assert customer_texts("my name is actually Ann Marie Lee") == summary(
        "Ann Marie Lee", "ann.lee@example.com", CUSTOMER_NUMBER, reason
    )
    assert customer_texts("no").startswith("What should I change: your email, name, phone")
    assert customer_texts("the phone number").startswith("What phone number can we reach")
    assert customer_texts("+44 20 7183 8750") == summary(
        "Ann Marie Lee", "ann.lee@example.com", "+442071838750", reason
    )
    assert customer_texts("change the reason") == "What would you like our team to help you with?"
    assert customer_texts("A refund for invoice 1042") == summary(
        "Ann Marie Lee", "ann.lee@example.com", "+442071838750", "A refund for invoice 1042"
    )
    assert customer_texts("hmm").startswith("What should I change")
    assert customer_texts("email") == "What's your email address?"
    assert customer_texts("not-an-address") == (
        "Sorry, that doesn't look like an email address. Please type it again, "
        "like name@example.com."
    )
    customer_texts("ann.lee@example.com")

    assert customer_texts("Yes please") == f"Thank you, Ann Marie Lee! {THANKS}"
    followup = the_request()
    assert (followup.name, followup.email, followup.phone, followup.reason, followup.source) == (
        "Ann Marie Lee",
        "ann.lee@example.com",
        "+442071838750",
        "A refund for invoice 1042",
        Source.TEXT,
    )
    assert len(fake_llm.requests) == 1
    assert_plain_texts_without_a_form(twilio)


def test_lead_ins_and_spelled_out_symbols_are_read_by_text_as_by_voice(
    app, agent, twilio, fake_llm, customer_texts
):
    asked = "Can I speak to someone about my invoice?"
    customer_texts(asked)
    assert customer_texts("it's ann dot lee at example dot com") == "What's your name?"
    assert customer_texts("Sure, it's Ann Lee.") == summary(
        "Ann Lee", "ann.lee@example.com", CUSTOMER_NUMBER, f"Customer asked: {asked}"
    )
    customer_texts("yes")
    assert (the_request().name, the_request().email) == ("Ann Lee", "ann.lee@example.com")


def test_the_reason_is_taken_as_written_and_only_a_name_shaped_name_corrects(
    app, agent, twilio, fake_llm, customer_texts
):
    """Never lose a lead: a reason that says "cancel" or carries a number is the
    request itself, not a command or a correction."""
    asked = "Can I speak to someone?"
    customer_texts(asked)
    customer_texts("ann@example.com")
    reason_first = f"Customer asked: {asked}"
    assert customer_texts("Ann Lee") == summary(
        "Ann Lee", "ann@example.com", CUSTOMER_NUMBER, reason_first
    )
    assert customer_texts("No, my name is wrong") == "What's your name?"  # not "wrong"
    assert customer_texts("Ann Lee") == summary(
        "Ann Lee", "ann@example.com", CUSTOMER_NUMBER, reason_first
    )
    assert customer_texts("no").startswith("What should I change")
    assert customer_texts("the reason") == "What would you like our team to help you with?"
    reason = "I want to cancel my subscription, call +1 415 555 0199 after 5"
    assert customer_texts(reason) == summary("Ann Lee", "ann@example.com", CUSTOMER_NUMBER, reason)
    assert customer_texts("yes") == f"Thank you, Ann Lee! {THANKS}"
    assert (the_request().name, the_request().reason) == ("Ann Lee", reason)


def test_when_the_llm_is_down_the_details_are_still_captured_by_text(
    app, agent, twilio, fake_llm, customer_texts
):
    fake_llm.behaviour.fail_status = 500
    asked = "Do you cater weddings for 120 guests?"

    assert customer_texts(asked) == (
        "Sorry, I can't answer right now. Our team can get back to you instead. "
        "We'll contact you within 24 hours. What's your email address?"
    )
    assert customer_texts("jo@example.com") == "What's your name?"
    # The unanswered question is the request, read back for the customer to confirm.
    assert customer_texts("Jo Park") == summary("Jo Park", "jo@example.com", CUSTOMER_NUMBER, asked)
    assert customer_texts("yes") == f"Thank you, Jo Park! {THANKS}"

    followup = the_request()
    assert (followup.name, followup.email, followup.phone, followup.reason) == (
        "Jo Park",
        "jo@example.com",
        CUSTOMER_NUMBER,
        asked,
    )
    assert (followup.source, followup.priority, followup.summary) == (Source.TEXT, "normal", None)
    assert count(Notification) == 2  # staff email, customer confirmation
    assert_plain_texts_without_a_form(twilio)


def test_what_the_customer_told_another_business_stays_there(
    app, agent, other_tenant, sms, twilio, fake_llm, customer_texts
):
    elsewhere = Agent(tenant_id=other_tenant.id, name="Kim", sms_number="+14155550151")
    db.session.add(elsewhere)
    db.session.commit()
    sms.send("Hi, I'm Maria Garcia, maria@example.com", to=elsewhere.sms_number)

    # This business's capture knows only the number she texts from.
    assert customer_texts("Can I talk to a person?") == f"{OFFER_TEXT} What's your email address?"
    assert customer_texts("ann@example.com") == "What's your name?"
    db.session.rollback()
    assert {(c.tenant_id, c.agent_id) for c in db.session.scalars(select(Chat))} == {
        (agent.tenant_id, agent.id),
        (other_tenant.id, elsewhere.id),
    }


def test_the_customer_can_call_the_capture_off(app, agent, twilio, fake_llm, customer_texts):
    customer_texts("Can I talk to a person?")

    assert customer_texts("No thanks, never mind") == (
        "OK, I won't send a request. Is there anything else I can help with?"
    )
    assert customer_texts("When do you open?") == "You said: When do you open?"
    assert count(FollowUpRequest) == 0


def test_stop_drops_the_capture_under_way(app, agent, sms, twilio, fake_llm, customer_texts):
    customer_texts("Can I talk to a person?")

    assert sms.send("STOP").status_code == 200
    assert sms.send("START").status_code == 200

    assert customer_texts("Hello again") == "You said: Hello again"
    assert count(FollowUpRequest) == 0


def test_a_staff_reply_ends_the_capture(app, agent, staff, customer_texts):
    customer_texts("Can I talk to a person?")
    assert the_chat().followup_capture

    chats.post_staff_reply(the_chat(), staff, "Hi, Olivia here. I can help you directly.")

    assert not the_chat().followup_capture  # the client's next text answers Olivia


def test_a_reminder_ends_the_capture(app, agent, customer_texts):
    customer_texts("Can I talk to a person?")
    step = AutoFollowupStep(agent_id=agent.id, position=1, delay_minutes=60, instruction="Nudge")
    db.session.add(step)
    db.session.commit()
    chat = the_chat()
    reminder = Completion("Still there?", None, None, None)
    reminder_sending.record_reminder(chat, step, reminder, utcnow())
    db.session.commit()

    assert not the_chat().followup_capture


def test_staff_see_where_the_request_came_from(app, agent, staff_browser, customer_texts):
    customer_texts("Can I talk to a person? I'm Jo Park")
    customer_texts("jo@example.com")
    customer_texts("yes")

    followup = the_request()
    page = staff_browser.get(f"/admin/followups/{followup.id}").get_data(as_text=True)

    # CONTRACT.md's source is "text" (a typed conversation); the chat tells it was SMS.
    assert followup.source == Source.TEXT
    link = f'<a href="/admin/chats/{followup.chat_id}">Open the conversation</a>'
    assert re.search(rf"Source: SMS\s+· {link}", page)


def test_the_web_widget_still_shows_the_form_and_its_prompt_says_so(app, tenant, fake_llm):
    chat = chats.start_chat(tenant.widget_public_key).chat
    chats.post_client_message(chat, "Can I talk to a person?")

    message = chats.reply(chat)

    assert message.action["type"] == "followup_form" and not chat.followup_capture
    system = fake_llm.requests[-1]["messages"][0]["content"]
    assert "a form pre-filled with their details will appear" in system
    assert "SMS" not in system
