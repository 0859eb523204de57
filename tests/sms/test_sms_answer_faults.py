"""Every inbound text gets exactly one answer, whatever fails: real `python worker.py`
processes, a real Redis, SQLite and PostgreSQL, the fake model and the local Twilio.

Real time here (the workers are other processes): the answer's lease
(SMS_ANSWER_LEASE_S) is a few seconds, and the sweep runs every second, so a text
whose job was lost is answered within a test's wait.
"""

import threading

import pytest
from sqlalchemy import select, text

from followup.extensions import db
from followup.models import AnswerState, Chat, Role
from tests.helpers.jobs import WAIT_S, wait_for
from tests.helpers.sms import (
    AGENT_NUMBER,
    CUSTOMER_NUMBER,
    WORKER_APP_NAME,
    answer_states,
    conversation,
    worker_ready,
)


class ModelHold:
    """The fake model keeps each request waiting until released: a job is then known
    to be in the middle of its answer."""

    def __init__(self, fake_llm) -> None:
        self.arrived = threading.Event()
        self.released = threading.Event()
        fake_llm.behaviour.on_request = self._hold

    def _hold(self, _body: dict) -> None:
        self.arrived.set()
        self.released.wait(WAIT_S)

    def wait_for_a_request(self) -> None:
        assert self.arrived.wait(WAIT_S), "no job asked the model"


def the_chats() -> list[Chat]:
    db.session.rollback()
    return list(db.session.scalars(select(Chat).order_by(Chat.id)))


def all_answered(count: int) -> bool:
    states = answer_states()
    return len(states) == count and set(states) == {AnswerState.ANSWERED}


def assert_each_answered_once(twilio, texts: dict[str, str]) -> None:
    """Each number's text has one answer, saved and texted once. An answered text can
    never be answered again (`sms_answers.claim` takes only unsettled ones)."""
    sent = wait_for(
        lambda: twilio.messages if len(twilio.messages) >= len(texts) else None,
        "every answer texted",
    )
    assert sorted((m.to, m.body) for m in sent) == sorted(
        (number, f"You said: {body}") for number, body in texts.items()
    )
    for chat in the_chats():
        assert conversation(chat.id) == [
            (Role.CLIENT, texts[chat.phone]),
            (Role.AGENT, f"You said: {texts[chat.phone]}"),
        ]
    assert all_answered(len(texts))


def test_a_text_whose_worker_was_killed_mid_answer_is_answered_once_by_the_sweep(
    queued_app, agent, sms, twilio, fake_llm, start_worker, settings
):
    first = start_worker()
    wait_for(lambda: worker_ready(settings["REDIS_URL"]), "the worker", first)
    hold = ModelHold(fake_llm)

    sms.send("Is the shop open today?")
    hold.wait_for_a_request()
    first.kill()  # kill -9 while the model writes the answer
    fake_llm.behaviour.on_request = None
    hold.released.set()
    assert answer_states() == [AnswerState.ANSWERING]  # claimed by the dead job

    second = start_worker()
    wait_for(lambda: all_answered(1), "the swept answer", second)

    assert_each_answered_once(twilio, {CUSTOMER_NUMBER: "Is the shop open today?"})
    assert {m.from_ for m in twilio.messages} == {AGENT_NUMBER}


def test_texts_whose_jobs_redis_lost_in_a_restart_are_each_answered_once(
    queued_app, agent, sms, twilio, start_worker, settings, private_redis
):
    settings["REDIS_URL"] = queued_app.config["REDIS_URL"] = private_redis.url
    texts = {f"+1415555018{n}": f"Question number {n}" for n in range(5)}
    for number, body in texts.items():
        assert sms.send(body, from_=number).status_code == 200  # queued, no worker yet

    private_redis.restart_empty()  # every queued job is gone
    worker = start_worker()
    wait_for(lambda: all_answered(len(texts)), "the swept answers", worker)

    assert_each_answered_once(twilio, texts)


def test_a_text_whose_job_lost_its_database_connection_is_answered_once(
    queued_app, agent, sms, twilio, fake_llm, start_worker, settings, database_url
):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite is a file opened in the worker: there is no connection to drop")
    worker = start_worker()
    wait_for(lambda: worker_ready(settings["REDIS_URL"]), "the worker", worker)
    hold = ModelHold(fake_llm)

    sms.send("Can I book for Friday?")
    hold.wait_for_a_request()
    dropped = db.session.execute(
        text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = :name AND datname = current_database()"
        ),
        {"name": WORKER_APP_NAME},
    ).scalar_one()
    db.session.rollback()
    assert dropped >= 1  # the job's connection, idle while the model writes
    fake_llm.behaviour.on_request = None
    hold.released.set()

    wait_for(lambda: all_answered(1), "the retried answer", worker)

    assert_each_answered_once(twilio, {CUSTOMER_NUMBER: "Can I book for Friday?"})


def test_a_text_that_arrives_while_the_model_writes_gets_an_answer_of_its_own(
    queued_app, agent, sms, twilio, fake_llm, start_worker, settings
):
    """The first answer settles only the text it read: the second text, saved while
    the model was writing, waits for its own job, which answers it."""
    worker = start_worker()
    wait_for(lambda: worker_ready(settings["REDIS_URL"]), "the worker", worker)
    hold = ModelHold(fake_llm)

    sms.send("Is the shop open today?")
    hold.wait_for_a_request()
    sms.send("And on Sunday?")  # saved while the first answer is being written
    hold.released.set()

    sent = wait_for(
        lambda: twilio.messages if len(twilio.messages) >= 2 else None, "both answers", worker
    )
    assert sorted(m.body for m in sent) == [
        "You said: And on Sunday?",
        "You said: Is the shop open today?",
    ]
    assert all_answered(2)
    (chat,) = the_chats()
    assert [role for role, _ in conversation(chat.id)] == [
        Role.CLIENT,
        Role.CLIENT,
        Role.AGENT,
        Role.AGENT,
    ]
