"""`channels.deliver`: a saved message to the customer on the chat's channel, through the
real Twilio SDK and the local Twilio server; every failure is an exception that says
whether trying again can help. On SQLite and PostgreSQL."""

import socket

import pytest

from followup.extensions import db
from followup.models import Agent, Channel, Chat, Message, Role
from followup.services import channels
from tests.helpers.jobs import TWILIO_FROM
from tests.helpers.sms import AGENT_NUMBER, CUSTOMER_NUMBER


def saved_message(agent: Agent, text: str = "We open at 9.", **chat_fields) -> Message:
    fields = {"channel": Channel.SMS, "phone": CUSTOMER_NUMBER} | chat_fields
    chat = Chat(tenant_id=agent.tenant_id, agent=agent, title="t", **fields)
    message = Message(chat=chat, role=Role.AGENT, content=text)
    db.session.add_all([chat, message])
    db.session.commit()
    return message


def deliver(message: Message) -> None:
    channels.deliver(message.chat, message)


def test_sms_goes_to_the_customer_from_the_agents_number(app, agent, twilio):
    deliver(saved_message(agent))
    assert [(m.from_, m.to, m.body) for m in twilio.messages] == [
        (AGENT_NUMBER, CUSTOMER_NUMBER, "We open at 9.")
    ]


def test_an_agent_without_a_number_texts_from_the_servers_number(app, tenant, twilio):
    agent = Agent(tenant_id=tenant.id, name="Kim")
    deliver(saved_message(agent))
    assert [(m.from_, m.to) for m in twilio.messages] == [(TWILIO_FROM, CUSTOMER_NUMBER)]


def test_the_web_channel_sends_nothing(app, agent, twilio):
    deliver(saved_message(agent, channel=Channel.WEB, phone=None))
    assert twilio.requests == []


def test_nothing_goes_to_a_customer_who_opted_out(app, agent, twilio):
    with pytest.raises(channels.OptedOut, match="opted out"):
        deliver(saved_message(agent, opted_out=True))
    assert issubclass(channels.OptedOut, channels.Undeliverable)
    assert twilio.requests == []


def test_a_chat_without_a_phone_is_undeliverable(app, agent, twilio):
    with pytest.raises(channels.Undeliverable, match="no phone number"):
        deliver(saved_message(agent, phone=None))
    assert twilio.requests == []


def test_a_long_answer_goes_in_parts_cut_between_words(app, agent, twilio):
    text = " ".join(f"word{n:04d}" for n in range(400))  # 3599 characters
    deliver(saved_message(agent, text))

    bodies = [m.body for m in twilio.messages]
    assert len(bodies) == 3
    assert all(len(body) <= channels.SMS_MAX_CHARS for body in bodies)
    assert " ".join(bodies) == text  # nothing lost, no word split


def test_one_endless_word_is_cut_inside_it():
    assert channels.sms_parts("x" * 3500) == ["x" * 1600, "x" * 1600, "x" * 300]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, channels.DeliveryFailed),
        (503, channels.DeliveryFailed),
        (429, channels.DeliveryFailed),
        (400, channels.Undeliverable),
    ],
)
def test_twilio_errors_say_whether_a_retry_can_help(app, agent, twilio, status, error):
    message = saved_message(agent)
    twilio.fail_next(1, status)

    with pytest.raises(error, match=f"Twilio answered {status}"):
        deliver(message)
    assert db.session.get(Message, message.id).content == "We open at 9."  # still there


def test_twilio_unreachable_is_a_failure_that_may_pass(app, agent, twilio):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    app.config["TWILIO_API_BASE"] = f"http://127.0.0.1:{port}"

    with pytest.raises(channels.DeliveryFailed, match="could not be reached"):
        deliver(saved_message(agent))


def test_sms_not_configured_is_undeliverable(app, agent, twilio):
    app.config["TWILIO_ACCOUNT_SID"] = None
    with pytest.raises(channels.Undeliverable, match="SMS is not configured"):
        deliver(saved_message(agent))
