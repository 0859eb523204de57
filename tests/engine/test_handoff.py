"""Handed to the team ends the chain (PRODUCT.md, "Decided since the first release"): a
follow-up request taken in a chat ends that chat's reminder cycle on every channel (the
widget's form, on its page and through its JSON API; a voice capture; an SMS capture).
Nothing of that cycle is sent afterwards, not even by a job queued or already writing
before the request; the customer's next message starts a new cycle from step 1. A
request made through the REST API belongs to no chat and ends no chain.

The chat starts at START with Alexey (4 h, 24 h, 48 h); `run_due()` is the worker's cron.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from followup.extensions import db
from followup.jobs import sms as sms_jobs
from followup.models import ChainEnd, Chat, FollowUpRequest, Source
from followup.services import autofollowup, chats, conversations, followups, sms_chats
from followup.services.reminder_sending import send_reminder
from tests.helpers.chains import START, client_says, reminders, run_due, step_positions
from tests.helpers.widget import Visitor, ask_for_a_person, form_key_of, submit
from tests.helpers.widget_api import start as start_api_session

HOUR = timedelta(hours=1)
AGENT_NUMBER = "+14155550150"
CUSTOMER_NUMBER = "+14155550177"
FORM = {"name": "Ann Lee", "email": "ann@example.com", "reason": "Call me about invoice 42"}
ASK = "Can a person call me about invoice 42?"


def the_chat(chat_id: int) -> Chat:
    db.session.expire_all()  # see what the requests and jobs committed
    return db.session.get(Chat, chat_id)


def the_request(chat_id: int) -> FollowUpRequest:
    db.session.expire_all()
    return db.session.scalars(
        select(FollowUpRequest).where(FollowUpRequest.chat_id == chat_id)
    ).one()


# --- the channels: the customer asks for a person, the request is taken, they write again ----


class WidgetPage:
    """The widget's own chat page (HTMX): the AI offers the form, the visitor sends it."""

    def __init__(self, app, tenant, _agent):
        self.visitor = Visitor(app.test_client(), tenant)
        self.visitor.start()
        self.form_key = None

    def ask_for_a_person(self) -> int:
        self.form_key = form_key_of(ask_for_a_person(self.visitor))
        return self.visitor.chat_id

    def take_the_request(self) -> None:
        assert submit(self.visitor, self.form_key, **FORM).status_code == 200

    def write(self, text: str) -> None:
        assert self.visitor.say(text)[-1][0] == "done"


class WidgetApi:
    """A custom chat UI on the widget's JSON API."""

    mode = "text"

    def __init__(self, app, tenant, _agent):
        self.session = start_api_session(app.test_client(), tenant)

    def ask_for_a_person(self) -> int:
        self.write(ASK)
        return self.session.chat_id

    def take_the_request(self) -> None:
        assert self.session.post("followups", FORM).status_code == 201

    def write(self, text: str) -> None:
        response = self.session.say(text, mode=self.mode)
        assert response.status_code == 200, response.get_data(as_text=True)


class VoiceCapture(WidgetApi):
    """Voice in the widget: no form; our code asks for the details and the customer's
    final yes sends the request (services/capture.py)."""

    mode = "voice"
    ANSWERS = ("ann at example dot com", "yes", "Ann Lee", "skip", "yes")

    def take_the_request(self) -> None:
        for answer in self.ANSWERS:
            self.write(answer)
        assert the_request(self.session.chat_id).source == Source.VOICE


class SmsCapture:
    """A text to the agent's number; the answer job replies by SMS, and the details are
    asked for by text (services/sms_chats.py); the customer's YES sends the request."""

    ANSWERS = ("ann@example.com", "YES")

    def __init__(self, app, tenant, agent):
        agent.sms_number = AGENT_NUMBER
        db.session.commit()
        self.chat_id = None

    def ask_for_a_person(self) -> int:
        self.write(f"Hi, I'm Ann Lee. {ASK}")
        return self.chat_id

    def take_the_request(self) -> None:
        for answer in self.ANSWERS:
            self.write(answer)
        assert the_request(self.chat_id).chat_id == self.chat_id

    def write(self, text: str) -> None:
        received = sms_chats.receive(AGENT_NUMBER, CUSTOMER_NUMBER, text)
        self.chat_id = received.chat_id
        assert sms_jobs.answer_sms(received.chat_id, received.message_id) is not None


CHANNELS = [WidgetPage, WidgetApi, VoiceCapture, SmsCapture]


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda channel: channel.__name__)
def test_a_request_taken_in_a_chat_ends_its_cycle_and_the_next_message_starts_step_one(
    channel, app, tenant, agent, clock, twilio
):
    customer = channel(app, tenant, agent)
    chat_id = customer.ask_for_a_person()
    first_step = agent.steps[0]
    assert autofollowup.pending(the_chat(chat_id)).due_at == START + 4 * HOUR

    clock.advance(minutes=5)
    customer.take_the_request()
    for hours in (4, 28, 76, 200):  # every step of the chain would be due by now
        clock.move_to(START + hours * HOUR)
        run_due()
    chat = the_chat(chat_id)
    assert reminders(chat) == []
    assert (chat.chain_ended, chat.chain_due_at) == (ChainEnd.HANDED_OFF, None)
    cycle = chat.chain_cycle

    wrote_at = clock.advance(hours=1)
    customer.write("Thanks! One more thing: do you ship to Norway?")
    chat = the_chat(chat_id)
    assert (chat.chain_cycle, chat.chain_ended) == (cycle + 1, None)
    assert (chat.chain_step_id, chat.chain_due_at) == (first_step.id, wrote_at + 4 * HOUR)
    clock.move_to(wrote_at + 4 * HOUR)
    run_due()
    assert step_positions(the_chat(chat_id)) == [1]


# --- what was queued for the ended cycle -----------------------------------------------------


def test_a_reminder_job_queued_before_the_request_sends_nothing(chat, clock):
    client_says(chat, ASK)
    queued = autofollowup.pending(the_chat(chat.id))
    clock.advance(minutes=5)
    chats.submit_followup(chat, FORM)

    clock.move_to(queued.due_at)
    # The wake-up (or a batch that claimed it) runs as queued: it must send nothing.
    outcome = send_reminder(queued.chat_id, queued.cycle, queued.step_id)
    assert outcome == "drop: no reminder is pending"
    assert reminders(chat) == []


def test_a_reminder_the_model_is_writing_when_the_request_is_taken_is_dropped(
    chat, clock, app, fake_llm
):
    client_says(chat, ASK)
    due = autofollowup.pending(the_chat(chat.id))
    clock.move_to(due.due_at)

    def the_customer_sends_the_form(_body) -> None:
        with app.app_context():  # another request, on its own connection
            chats.submit_followup(db.session.get(Chat, chat.id), FORM)
            db.session.remove()

    fake_llm.behaviour.on_request = the_customer_sends_the_form
    # The model "thinks" for as long as the request takes to save: on a loaded machine
    # that may be longer than the tests' usual 2 s, which would fail the call instead.
    app.config["LLM_TIMEOUT_S"] = 60
    outcome = send_reminder(due.chat_id, due.cycle, due.step_id)
    assert outcome == "drop: no reminder is pending (the written reminder is dropped)"
    assert reminders(chat) == [] and the_request(chat.id).chat_id == chat.id


def test_a_request_made_through_the_rest_api_ends_no_chain(chat, clock, tenant):
    client_says(chat, ASK)
    followups.create_followup(tenant.id, FORM, source=Source.API)  # it has no chat
    clock.move_to(START + 4 * HOUR)
    run_due()
    assert step_positions(chat) == [1] and the_chat(chat.id).chain_ended is None


def test_a_request_of_another_tenant_naming_this_chat_ends_nothing(chat, clock, other_tenant):
    client_says(chat, ASK)
    followups.create_followup(other_tenant.id, FORM, source=Source.TEXT, chat_id=chat.id)
    assert the_chat(chat.id).chain_ended is None
    clock.move_to(START + 4 * HOUR)
    run_due()
    assert step_positions(chat) == [1]


# --- what the staff see --------------------------------------------------------------------


def test_the_chat_says_it_was_handed_to_the_team(chat, clock):
    client_says(chat, ASK)
    chats.submit_followup(chat, FORM)
    state = conversations.chain_state(the_chat(chat.id))
    assert (state.state, state.label) == ("handed_off", "Handed to the team")
