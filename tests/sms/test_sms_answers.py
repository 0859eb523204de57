"""Which text gets an answer, and when the sweep takes one again: the claim each inbound
text keeps in the database (`services/sms_answers.py`). Jobs run inline; the clock is
moved past the answer's lease (SMS_ANSWER_LEASE_S, 300 s by default). On SQLite and
PostgreSQL. Real workers, killed and cut off: test_sms_answer_faults.py."""

from datetime import timedelta

import time_machine

from followup.clock import utcnow
from followup.jobs.sms import sweep_sms_answers
from followup.models import AnswerState, Role
from followup.services import chats, sms_answers, sms_chats
from tests.helpers.sms import AGENT_NUMBER, CUSTOMER_NUMBER, answer_states, conversation

AFTER_THE_LEASE = timedelta(seconds=301)


def text(body: str) -> sms_chats.Received:
    return sms_chats.receive(AGENT_NUMBER, CUSTOMER_NUMBER, body)


def test_a_text_waits_for_its_answer_from_the_commit_that_saves_it(app, agent):
    text("Hello")

    assert answer_states() == [AnswerState.WAITING]


def test_a_text_a_job_is_answering_is_left_to_it_until_its_lease_runs_out(
    app, agent, fake_llm, twilio
):
    received = text("Hello")
    assert sms_answers.claim(received.message_id) == 1  # a job took it, then died

    assert sms_chats.answer(received.chat_id, received.message_id) is None  # a twin job
    assert fake_llm.requests == []
    with time_machine.travel(utcnow() + AFTER_THE_LEASE, tick=False):
        reply = sms_chats.answer(received.chat_id, received.message_id)

    assert reply.content == "You said: Hello"
    assert answer_states() == [AnswerState.ANSWERED]
    assert sms_chats.answer(received.chat_id, received.message_id) is None  # answered: never again
    assert len(fake_llm.requests) == 1


def test_the_answer_to_the_latest_text_answers_the_texts_before_it(app, agent):
    first, second = text("Hi"), text("I need a table for 4")

    sms_chats.answer(second.chat_id, second.message_id)

    assert answer_states() == [AnswerState.ANSWERED, AnswerState.ANSWERED]
    assert sms_chats.answer(first.chat_id, first.message_id) is None


def test_a_text_that_needs_no_answer_is_settled_without_one(app, agent, staff):
    first = text("Hi")
    chat = chats.chat_for_turn(first.chat_id)[0]
    chats.post_staff_reply(chat, staff, "Olivia here, how can I help?")
    assert answer_states() == [AnswerState.ANSWERED]  # the staff reply answered it

    second = text("Great, thanks")  # staff are in charge: the AI stays silent
    assert sms_chats.answer(second.chat_id, second.message_id) is None

    assert answer_states() == [AnswerState.ANSWERED, AnswerState.NOT_NEEDED]
    assert conversation(chat.id)[-1] == (Role.CLIENT, "Great, thanks")


def test_the_sweep_takes_a_text_once_its_wait_ran_out_and_once_only(app, agent, fake_llm):
    received = text("Hello")
    sms_answers.claim(received.message_id)  # its job died mid-answer

    assert sms_answers.take_due() == []  # its lease still runs
    later = utcnow() + AFTER_THE_LEASE
    with time_machine.travel(later, tick=False):
        assert sms_answers.take_due() == [(received.chat_id, received.message_id)]
        assert sms_answers.take_due() == []  # another worker's sweep, at the same time
    assert answer_states() == [AnswerState.WAITING]  # for the job the sweep queued

    with time_machine.travel(later + AFTER_THE_LEASE, tick=False):
        assert sweep_sms_answers() == 1  # that job was lost too: queued again, run inline
    assert answer_states() == [AnswerState.ANSWERED]
    assert len(fake_llm.requests) == 1


def test_a_text_whose_jobs_keep_failing_is_given_to_staff(app, agent, fake_llm):
    received = text("Hello")
    moment = utcnow()
    for _attempt in range(sms_answers.MAX_ATTEMPTS):  # each job dies mid-answer
        moment += AFTER_THE_LEASE
        with time_machine.travel(moment, tick=False):
            assert sms_answers.claim(received.message_id) is not None

    with time_machine.travel(moment + AFTER_THE_LEASE, tick=False):
        assert sms_chats.answer(received.chat_id, received.message_id) is None

    assert answer_states() == [AnswerState.GAVE_UP]
    assert conversation(received.chat_id)[-1] == (
        Role.SYSTEM,
        "The AI could not answer this text after several tries: please answer it.",
    )
    assert fake_llm.requests == []
