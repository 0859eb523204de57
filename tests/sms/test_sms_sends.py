"""Every outgoing message of an SMS chat is texted once, or staff hear why not: its
delivery (`SmsSend`) is saved with it, its retry time is kept in the database, and the
sweep queues what is due whatever Redis lost. Jobs run inline (RQ_ASYNC off), the
clock is moved to each retry's time; tests/sms/test_sms_send_faults.py kills real
workers. On SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select, update

from followup.clock import utcnow
from followup.extensions import db
from followup.jobs.sms import send_sms, sweep_sms_sends
from followup.llm.client import Completion
from followup.models import AutoFollowupStep, Channel, Chat, Message, Role, SendState, SmsSend
from followup.services import chats, reminder_sending, sms_answers, sms_sends
from followup.services.sms_sends import SEND_RETRY_INTERVALS_S
from tests.fakes.local_http import closed_redis_url
from tests.helpers.sms import AGENT_NUMBER, CUSTOMER_NUMBER, conversation, the_chat

# Past the lease of a send (SMS_ANSWER_LEASE_S, 300 s by default).
AFTER_THE_LEASE = timedelta(seconds=301)


def texts_sent(twilio) -> list[tuple[str, str, str]]:
    return [(m.from_, m.to, m.body) for m in twilio.messages]


def deliveries() -> list[tuple[str, str, int]]:
    """(role of the message, state, attempts) of each SMS delivery, as committed."""
    db.session.rollback()
    return [
        tuple(row)
        for row in db.session.execute(
            select(Message.role, SmsSend.state, SmsSend.attempts)
            .join(SmsSend, SmsSend.message_id == Message.id)
            .order_by(Message.id)
        )
    ]


def the_reply() -> Message:
    db.session.rollback()
    return db.session.scalars(select(Message).where(Message.role == Role.AGENT)).one()


def sweep_at(moment) -> int:
    with time_machine.travel(moment, tick=False):
        return sweep_sms_sends()  # its jobs run inline here


def last_note(chat_id: int) -> str:
    role, note = conversation(chat_id)[-1]
    assert role == Role.SYSTEM
    return note


def test_an_answer_is_texted_once_and_marked_sent(app, agent, sms, twilio):
    sms.send("Hello")

    assert texts_sent(twilio) == [(AGENT_NUMBER, CUSTOMER_NUMBER, "You said: Hello")]
    assert deliveries() == [(Role.AGENT, SendState.SENT, 1)]
    assert sweep_at(utcnow() + AFTER_THE_LEASE) == 0
    send_sms(the_reply().id)  # a job run twice: nothing more
    assert len(twilio.messages) == 1


def test_a_failed_send_waits_in_the_database_for_its_retry_time(app, agent, sms, twilio):
    twilio.fail_next(1, 503)
    sms.send("Hello")
    failed_at = utcnow()
    assert deliveries() == [(Role.AGENT, SendState.TO_SEND, 1)]

    assert sweep_at(failed_at + timedelta(seconds=SEND_RETRY_INTERVALS_S[0] - 1)) == 0
    send_sms(the_reply().id, 0)  # a stale job (the first attempt's): it sends nothing
    assert twilio.messages == []

    assert sweep_at(failed_at + timedelta(seconds=SEND_RETRY_INTERVALS_S[0] + 1)) == 1

    assert texts_sent(twilio) == [(AGENT_NUMBER, CUSTOMER_NUMBER, "You said: Hello")]
    assert deliveries() == [(Role.AGENT, SendState.SENT, 2)]
    assert len(conversation(the_chat().id)) == 2  # the same answer, not a new one


def test_a_send_twilio_keeps_failing_ends_in_a_note_for_staff(app, agent, sms, twilio):
    attempts = len(SEND_RETRY_INTERVALS_S) + 1
    twilio.fail_next(attempts, 500)
    sms.send("Hello")
    moment = utcnow()
    for interval in SEND_RETRY_INTERVALS_S:
        moment += timedelta(seconds=interval + 1)
        assert sweep_at(moment) == 1

    assert len(twilio.requests) == attempts and twilio.messages == []
    assert deliveries() == [(Role.AGENT, SendState.UNDELIVERABLE, attempts)]
    assert last_note(the_chat().id).startswith(
        "This message could not be sent by SMS: Twilio answered 500"
    )
    assert sweep_at(moment + AFTER_THE_LEASE) == 0


def test_a_send_twilio_refuses_is_not_tried_again(app, agent, sms, twilio):
    twilio.fail_next(1, 400)
    sms.send("Hello")

    assert deliveries() == [(Role.AGENT, SendState.UNDELIVERABLE, 1)]
    assert last_note(the_chat().id).startswith(
        "This message could not be sent by SMS: Twilio answered 400"
    )
    assert sweep_at(utcnow() + timedelta(days=1)) == 0
    assert len(twilio.requests) == 1


@pytest.mark.parametrize("refusal", ["now", "after a retry"])
def test_the_log_says_why_a_send_failed_without_the_customers_number(
    app, agent, sms, twilio, caplog, refusal
):
    """Twilio's refusal names the number; staff read it in the chat, the log never."""
    message = f"The 'To' number {CUSTOMER_NUMBER} is not a valid phone number."
    if refusal == "after a retry":
        twilio.fail_next(1, 503)
        sms.send("Hello")
        twilio.refuse_number(CUSTOMER_NUMBER, 21211, message)
        assert sweep_at(utcnow() + timedelta(seconds=SEND_RETRY_INTERVALS_S[0] + 1)) == 1
    else:
        twilio.refuse_number(CUSTOMER_NUMBER, 21211, message)
        sms.send("Hello")

    assert deliveries()[-1][1] == SendState.UNDELIVERABLE
    assert CUSTOMER_NUMBER in last_note(the_chat().id)
    warnings = [
        record.getMessage() for record in caplog.records if record.name.startswith("followup")
    ]
    assert any("not delivered" in warning for warning in warnings)
    assert not [warning for warning in warnings if CUSTOMER_NUMBER.lstrip("+") in warning]


def test_a_send_whose_sender_died_is_sent_by_the_sweep_after_its_lease(app, agent, sms, twilio):
    """A sender killed after the answer's commit (before its claim, or between its claim
    and Twilio): the send is still to do, and the sweep queues it once the lease ran out."""
    twilio.fail_next(1, 400)  # the first send never reaches Twilio's queue...
    sms.send("Hello")
    reply_id = the_reply().id
    # ... and the database is as a killed sender left it: claimed, not sent.
    db.session.execute(
        update(SmsSend).values(state=SendState.SENDING, due_at=utcnow() + sms_answers.lease())
    )
    db.session.commit()
    twilio.reset()

    assert sweep_at(utcnow() + timedelta(seconds=10)) == 0  # it may still be sending
    send_sms(reply_id, 1)  # the dead sender's own retry could not take it either
    assert twilio.messages == []
    assert sweep_at(utcnow() + AFTER_THE_LEASE) == 1

    assert texts_sent(twilio) == [(AGENT_NUMBER, CUSTOMER_NUMBER, "You said: Hello")]
    assert deliveries() == [(Role.AGENT, SendState.SENT, 2)]


def test_a_staff_reply_twilio_and_redis_cannot_take_is_sent_later(
    app, agent, staff, sms, twilio, monkeypatch
):
    sms.send("Hello")
    chat = the_chat()
    monkeypatch.setitem(app.config, "REDIS_URL", closed_redis_url())
    twilio.fail_next(1, 500)

    chats.post_staff_reply(chat, staff, "Hi, this is Olivia from Acme.")
    failed_at = utcnow()
    monkeypatch.undo()  # Redis is back; the retry's job was never queued

    assert conversation(chat.id)[-1] == (Role.STAFF, "Hi, this is Olivia from Acme.")
    assert sweep_at(failed_at + timedelta(seconds=SEND_RETRY_INTERVALS_S[0] + 1)) == 1
    assert [body for *_, body in texts_sent(twilio)] == [
        "You said: Hello",
        "Hi, this is Olivia from Acme.",
    ]
    assert deliveries() == [(Role.AGENT, SendState.SENT, 1), (Role.STAFF, SendState.SENT, 2)]


def test_a_reminder_by_sms_is_saved_with_its_send(app, agent, sms, twilio):
    sms.send("Hello")
    step = AutoFollowupStep(agent_id=agent.id, position=1, delay_minutes=60, instruction="Nudge")
    db.session.add(step)
    db.session.commit()
    chat = the_chat()
    reminder = reminder_sending.record_reminder(
        chat, step, Completion("Still there?", None, None, None), utcnow()
    )
    db.session.commit()
    assert deliveries()[-1] == (Role.AGENT, SendState.TO_SEND, 0)

    # Its sender died before sending: the sweep sends it after the lease.
    assert sweep_at(utcnow() + AFTER_THE_LEASE) == 1
    assert [body for *_, body in texts_sent(twilio)] == ["You said: Hello", "Still there?"]
    assert deliveries()[-1] == (Role.AGENT, SendState.SENT, 1)
    chats.deliver_message(the_chat(), db.session.get(Message, reminder.id))
    assert len(twilio.messages) == 2


def test_a_web_chat_message_has_no_sms_delivery(app, agent, staff, twilio):
    chat = Chat(tenant_id=agent.tenant_id, agent=agent, channel=Channel.WEB, title="Visitor")
    db.session.add(chat)
    db.session.commit()

    chats.post_staff_reply(chat, staff, "Hi, this is Olivia from Acme.")

    assert deliveries() == [] and twilio.requests == []


@pytest.mark.parametrize("state", [SendState.SENT, SendState.UNDELIVERABLE])
def test_a_settled_send_is_never_claimed(app, agent, sms, twilio, state):
    sms.send("Hello")
    db.session.execute(update(SmsSend).values(state=state, due_at=None))
    db.session.commit()

    assert sms_sends.claim(the_reply().id, 1) is None
