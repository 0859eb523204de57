"""Inbound SMS through `POST /hooks/twilio/sms`, signed as Twilio signs them, answered by
the fake LLM and sent back through the local Twilio server (the real Twilio SDK over
HTTP). Jobs run inline (RQ_ASYNC off); tests/sms/test_sms_worker.py runs a real worker.
Every test runs on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from followup.clock import utcnow
from followup.extensions import db
from followup.jobs.sms import sweep_sms_answers
from followup.models import Agent, AnswerState, Channel, Chat, Customer, Message, Role
from followup.services import chats
from tests.fakes.local_http import closed_redis_url
from tests.helpers.sms import (
    AGENT_NUMBER,
    CUSTOMER_NUMBER,
    PUBLIC_BASE_URL,
    WEBHOOK_PATH,
    answer_states,
    conversation,
    count,
    nothing_stored,
    the_chat,
    twilio_params,
)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# Past the lease (SMS_ANSWER_LEASE_S, 300 s by default) a waiting text is the sweep's.
SWEEP_AFTER = timedelta(seconds=301)


def texts_sent(twilio) -> list[tuple[str, str, str]]:
    return [(m.from_, m.to, m.body) for m in twilio.messages]


def test_an_inbound_sms_is_answered_by_the_ai_by_sms_from_the_agents_number(
    app, agent, sms, twilio, fake_llm
):
    response = sms.send("Do you open on Sundays?")

    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.get_data(as_text=True) == EMPTY_TWIML
    chat = the_chat()
    assert (chat.channel, chat.phone, chat.agent_id, chat.tenant_id) == (
        Channel.SMS,
        CUSTOMER_NUMBER,
        agent.id,
        agent.tenant_id,
    )
    assert chat.title == CUSTOMER_NUMBER and chat.customer_id is None
    assert conversation(chat.id) == [
        (Role.CLIENT, "Do you open on Sundays?"),
        (Role.AGENT, "You said: Do you open on Sundays?"),
    ]
    reply = db.session.scalars(select(Message).where(Message.role == Role.AGENT)).one()
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0
    assert texts_sent(twilio) == [
        (AGENT_NUMBER, CUSTOMER_NUMBER, "You said: Do you open on Sundays?")
    ]
    # The model saw the agent's persona and the customer's text.
    (request,) = fake_llm.requests
    assert "You are Sam" in request["messages"][0]["content"]
    assert request["messages"][-1] == {"role": "user", "content": "Do you open on Sundays?"}


def test_a_second_text_continues_the_same_chat(app, agent, sms, twilio):
    assert sms.send("Hello").status_code == 200
    assert sms.send("Are you there?").status_code == 200

    chat = the_chat()
    assert conversation(chat.id) == [
        (Role.CLIENT, "Hello"),
        (Role.AGENT, "You said: Hello"),
        (Role.CLIENT, "Are you there?"),
        (Role.AGENT, "You said: Are you there?"),
    ]
    assert [body for *_, body in texts_sent(twilio)] == [
        "You said: Hello",
        "You said: Are you there?",
    ]


def test_each_number_and_each_agent_has_its_own_chat(app, tenant, agent, sms, twilio):
    other_agent = Agent(tenant_id=tenant.id, name="Kim", sms_number="+14155550151")
    db.session.add(other_agent)
    db.session.commit()
    sms.send("Hi from A")
    sms.send("Hi from B", from_="+14155550178")
    sms.send("Hi Kim", to=other_agent.sms_number)

    db.session.rollback()
    chats = {(c.agent_id, c.phone) for c in db.session.scalars(select(Chat))}
    assert chats == {
        (agent.id, CUSTOMER_NUMBER),
        (agent.id, "+14155550178"),
        (other_agent.id, CUSTOMER_NUMBER),
    }
    assert ("+14155550151", CUSTOMER_NUMBER, "You said: Hi Kim") in texts_sent(twilio)


@pytest.mark.parametrize(
    "forgery",
    [
        "missing",
        "empty",
        "wrong token",
        "other url",  # what Flask sees behind a proxy is not what Twilio signed
        "body changed",
        "param added",
    ],
)
def test_a_request_not_signed_by_twilio_is_403_and_stores_nothing(
    app, agent, sms, twilio, fake_llm, forgery
):
    params = twilio_params("Send me your secrets", CUSTOMER_NUMBER, AGENT_NUMBER)
    signature = {
        "missing": None,
        "empty": "",
        "wrong token": sms.signature(params, token="not-the-auth-token"),
        "other url": sms.signature(params, url="http://localhost" + WEBHOOK_PATH),
        "body changed": sms.signature(params | {"Body": "Hello"}),
        "param added": sms.signature(params),
    }[forgery]
    if forgery == "param added":
        params = params | {"Extra": "1"}

    response = sms.post(params, signature)

    assert response.status_code == 403
    assert nothing_stored()
    assert twilio.messages == [] and fake_llm.requests == []


def test_without_an_auth_token_every_request_is_refused(app, agent, sms, twilio):
    params = twilio_params("Hello", CUSTOMER_NUMBER, AGENT_NUMBER)
    signature = sms.signature(params)
    app.config["TWILIO_AUTH_TOKEN"] = None

    assert sms.post(params, signature).status_code == 403
    assert nothing_stored()


def test_the_signature_covers_the_public_address_with_its_query(app, agent, sms, twilio):
    params = twilio_params("Hello", CUSTOMER_NUMBER, AGENT_NUMBER)
    signed_url = f"{PUBLIC_BASE_URL}{WEBHOOK_PATH}?tenant=acme"
    response = sms.client.post(
        f"{WEBHOOK_PATH}?tenant=acme",
        data=params,
        headers={"X-Twilio-Signature": sms.signature(params, url=signed_url)},
        base_url="http://10.0.0.5:8000",  # the proxy's upstream, as Flask sees it
    )
    assert response.status_code == 200
    assert count(Chat) == 1


def test_a_text_to_a_number_no_agent_has_is_404_and_stores_nothing(
    app, agent, sms, twilio, fake_llm
):
    response = sms.send("Hello?", to="+14155550999")

    assert response.status_code == 404
    assert nothing_stored()
    assert twilio.messages == [] and fake_llm.requests == []


def test_a_replayed_request_stores_nothing_more(app, agent, sms, twilio):
    params = twilio_params("Only once please", CUSTOMER_NUMBER, AGENT_NUMBER)
    signature = sms.signature(params)

    first = sms.post(params, signature)
    again = sms.post(params, signature)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_data(as_text=True) == EMPTY_TWIML
    assert conversation(the_chat().id) == [
        (Role.CLIENT, "Only once please"),
        (Role.AGENT, "You said: Only once please"),
    ]
    assert len(twilio.messages) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"From": "not a number"}, "From"),
        ({"Body": ""}, "text"),
        ({"Body": "   "}, "text"),
    ],
)
def test_bad_fields_are_refused_and_change_nothing(app, agent, sms, twilio, change, field):
    params = twilio_params("x", CUSTOMER_NUMBER, AGENT_NUMBER) | change

    response = sms.post(params, sms.signature(params))

    assert response.status_code == 422
    assert nothing_stored() and twilio.messages == []
    # Refused input may come again once fixed: its MessageSid was not used up.
    fixed = params | {"From": CUSTOMER_NUMBER, "Body": "Fixed"}
    assert sms.post(fixed, sms.signature(fixed)).status_code == 200
    assert count(Chat) == 1


def test_a_request_without_message_sid_is_400(app, agent, sms):
    params = twilio_params("Hello", CUSTOMER_NUMBER, AGENT_NUMBER)
    del params["MessageSid"]

    assert sms.post(params, sms.signature(params)).status_code == 400
    assert nothing_stored()


def test_an_oversized_body_is_413_and_stores_nothing(app, agent, sms):
    params = twilio_params("x" * 40_000, CUSTOMER_NUMBER, AGENT_NUMBER)

    assert sms.post(params, sms.signature(params)).status_code == 413
    assert nothing_stored()


@pytest.mark.parametrize(
    "keyword", ["STOP", "stop", " Unsubscribe ", "STOPALL", "Cancel", "END", "quit."]
)
def test_stop_opts_the_customer_out_and_the_ai_stays_silent(
    app, agent, sms, twilio, fake_llm, keyword
):
    sms.send("Hello")
    twilio.reset()
    fake_llm.requests.clear()

    assert sms.send(keyword).status_code == 200
    chat = the_chat()
    assert chat.opted_out is True
    assert chat.opted_out_at is not None  # when: the reports count opt-outs per period
    assert conversation(chat.id)[-1][0] == Role.SYSTEM
    assert "opted out" in conversation(chat.id)[-1][1]

    # Later texts are kept for staff, but nothing is answered or sent.
    assert sms.send("Actually, one more question").status_code == 200
    assert conversation(chat.id)[-1] == (Role.CLIENT, "Actually, one more question")
    assert twilio.messages == [] and fake_llm.requests == []


@pytest.mark.parametrize("keyword", ["START", "unstop", "Yes"])
def test_start_opts_the_customer_back_in(app, agent, sms, twilio, keyword):
    sms.send("STOP")
    assert sms.send(keyword).status_code == 200
    chat = the_chat()
    assert chat.opted_out is False
    assert twilio.messages == []  # Twilio itself confirms START; we send nothing

    sms.send("Back again")
    assert texts_sent(twilio) == [(AGENT_NUMBER, CUSTOMER_NUMBER, "You said: Back again")]


def test_yes_is_an_ordinary_answer_when_the_customer_did_not_opt_out(app, agent, sms, twilio):
    sms.send("Yes")
    assert [body for *_, body in texts_sent(twilio)] == ["You said: Yes"]


def test_stop_as_the_first_text_opens_the_chat_opted_out(app, agent, sms, twilio):
    sms.send("STOP")
    chat = the_chat()
    assert chat.opted_out is True and chat.channel == Channel.SMS
    assert [role for role, _ in conversation(chat.id)] == [Role.SYSTEM]


def test_stop_inside_a_sentence_is_not_an_opt_out(app, agent, sms, twilio):
    sms.send("Please don't stop the delivery")
    assert the_chat().opted_out is False
    assert len(twilio.messages) == 1


def test_while_staff_have_taken_over_the_ai_does_not_answer(
    app, agent, staff, sms, twilio, fake_llm
):
    takeover = timedelta(minutes=app.config["STAFF_TAKEOVER_MINUTES"])
    with time_machine.travel(utcnow(), tick=False) as clock:
        sms.send("Hello")
        chat = the_chat()
        chats.post_staff_reply(chat, staff, "Hi, this is Olivia from Acme.")
        assert texts_sent(twilio)[-1] == (
            AGENT_NUMBER,
            CUSTOMER_NUMBER,
            "Hi, this is Olivia from Acme.",
        )
        twilio.reset()
        fake_llm.requests.clear()

        clock.shift(takeover - timedelta(seconds=1))
        sms.send("Thanks Olivia, what about Sunday?")
        assert twilio.messages == [] and fake_llm.requests == []
        assert conversation(chat.id)[-1] == (Role.CLIENT, "Thanks Olivia, what about Sunday?")

        clock.shift(timedelta(seconds=1))  # the takeover is over: the AI answers again
        sms.send("Anyone?")
        assert [body for *_, body in texts_sent(twilio)] == ["You said: Anyone?"]


def test_customer_text_is_stored_as_data_and_sent_back_verbatim(app, agent, sms, twilio):
    text = "<script>alert(1)</script> & 'quotes' \"double\" {{ 7*7 }} ; DROP TABLE chats;--"

    response = sms.send(text)

    assert response.get_data(as_text=True) == EMPTY_TWIML  # nothing echoed into the TwiML
    chat = the_chat()
    assert conversation(chat.id)[0] == (Role.CLIENT, text)
    # SMS is plain text: what the customer wrote comes back unescaped, not as markup.
    assert texts_sent(twilio) == [(AGENT_NUMBER, CUSTOMER_NUMBER, f"You said: {text}")]


def test_the_staff_see_the_customers_text_as_text(app, agent, sms, staff_browser):
    sms.send("<script>alert(1)</script> <b>bold</b>")

    page = staff_browser.get(f"/admin/chats/{the_chat().id}").get_data(as_text=True)

    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>alert(1)" not in page and "<b>bold</b>" not in page
    assert "<h1>+1 415-555-0177</h1>" in page  # the chat's number, as people read it


def test_a_known_customer_names_the_chat(app, tenant, other_tenant, agent, sms, twilio):
    known = Customer(
        tenant_id=tenant.id, email="mia@example.com", name="Mia Chen", phone=CUSTOMER_NUMBER
    )
    # The same number at another business is someone else's record.
    stranger = Customer(
        tenant_id=other_tenant.id, email="x@example.com", name="Xavier", phone="+14155550178"
    )
    db.session.add_all([known, stranger])
    db.session.commit()

    sms.send("Hi, it's Mia")
    sms.send("Hello", from_="+14155550178")

    db.session.rollback()
    by_phone = {c.phone: c for c in db.session.scalars(select(Chat))}
    assert (by_phone[CUSTOMER_NUMBER].customer_id, by_phone[CUSTOMER_NUMBER].title) == (
        known.id,
        "Mia Chen",
    )
    assert (by_phone["+14155550178"].customer_id, by_phone["+14155550178"].title) == (
        None,
        "+14155550178",
    )


def test_a_number_shared_by_two_customers_links_neither(app, tenant, agent, sms):
    for n in (1, 2):
        db.session.add(
            Customer(
                tenant_id=tenant.id, email=f"c{n}@example.com", name=f"C{n}", phone=CUSTOMER_NUMBER
            )
        )
    db.session.commit()

    sms.send("Hello")
    chat = the_chat()
    assert (chat.customer_id, chat.title) == (None, CUSTOMER_NUMBER)


def the_reply() -> Message:
    db.session.rollback()
    return db.session.scalars(select(Message).where(Message.role == Role.AGENT)).one()


def redis_down(app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "REDIS_URL", closed_redis_url())


def test_a_text_redis_cannot_take_waits_in_the_database_for_the_sweep(
    app, agent, sms, twilio, monkeypatch
):
    redis_down(app, monkeypatch)

    assert sms.send("Hello").status_code == 200  # stored: Twilio must not send it again
    chat = the_chat()
    assert conversation(chat.id) == [(Role.CLIENT, "Hello")]
    assert answer_states() == [AnswerState.WAITING]

    monkeypatch.undo()  # Redis is back
    assert sweep_sms_answers() == 0  # its job may still come: the sweep leaves it alone
    with time_machine.travel(utcnow() + SWEEP_AFTER, tick=False):
        assert sweep_sms_answers() == 1  # jobs run inline here

    assert conversation(chat.id) == [(Role.CLIENT, "Hello"), (Role.AGENT, "You said: Hello")]
    assert texts_sent(twilio) == [(AGENT_NUMBER, CUSTOMER_NUMBER, "You said: Hello")]
    assert answer_states() == [AnswerState.ANSWERED]


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        ("Open\x00 today?", "Open today?"),
        # The web's rule, stripped: a CR stays, as a web form's line break keeps it.
        ("\x00Hi\x07 there\r\n\tthanks\x1b\x7f\x9b", "Hi there\r\n\tthanks"),
    ],
)
def test_control_characters_in_a_text_are_dropped_and_the_text_is_kept(
    app, agent, sms, twilio, body, stored
):
    assert sms.send(body).status_code == 200

    assert conversation(the_chat().id) == [
        (Role.CLIENT, stored),
        (Role.AGENT, f"You said: {stored}"),
    ]


def test_a_text_of_control_characters_only_is_refused_as_empty(app, agent, sms):
    response = sms.send("\x00\x01")

    assert response.status_code == 422
    assert nothing_stored()


def test_when_the_llm_is_down_the_customer_still_gets_an_answer(app, agent, sms, twilio, fake_llm):
    fake_llm.behaviour.fail_status = 500

    assert sms.send("Hello").status_code == 200

    (sent,) = twilio.messages
    assert sent.body.startswith("Sorry, I can't answer right now.")


def test_the_sender_budget_counts_only_signed_requests(app, agent, sms, twilio):
    app.config["SMS_WEBHOOK_LIMIT_PER_NUMBER"] = "2 per minute"
    forged = twilio_params("spam", CUSTOMER_NUMBER, AGENT_NUMBER)
    for _ in range(5):  # forging the customer's number spends nothing of their budget
        assert sms.post(forged, "forged").status_code == 403

    assert sms.send("One").status_code == 200
    assert sms.send("Two").status_code == 200
    refused = sms.send("Three")
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert sms.send("Other person", from_="+14155550178").status_code == 200
    assert [content for _, content in conversation(the_chat_of(CUSTOMER_NUMBER))][::2] == [
        "One",
        "Two",
    ]


def the_chat_of(phone: str) -> int:
    db.session.rollback()
    return db.session.scalar(select(Chat.id).where(Chat.phone == phone))


def test_the_ip_budget_bounds_every_sender_together(app, agent, sms):
    app.config["SMS_WEBHOOK_LIMIT_PER_IP"] = "3 per minute"
    for n in range(3):
        assert sms.send(f"Hi {n}", from_=f"+1415555016{n}").status_code == 200
    assert sms.send("Hi 4", from_="+14155550164").status_code == 429
