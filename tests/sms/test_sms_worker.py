"""The SMS jobs queued in a real Redis and run by RQ workers: `python worker.py` for the
round trip, and an in-process RQ worker to watch a failed send being scheduled for its
retry time (10 s away; the test moves the job forward instead of waiting)."""

from datetime import timedelta

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from followup.clock import utcnow
from followup.extensions import db
from followup.jobs.sms import send_sms
from followup.models import Chat, Message, Role, SendState, SmsSend
from followup.queue import JobQueue
from followup.services.sms_sends import SEND_RETRY_INTERVALS_S
from tests.helpers.jobs import shared_settings, wait_for, work_off
from tests.helpers.sms import AGENT_NUMBER, CUSTOMER_NUMBER, conversation


@pytest.fixture
def settings(database_url, jobs_redis_url, smtp, twilio, redis_db, fake_llm):
    """What the test's app and the worker share (start_worker passes it on)."""
    return shared_settings(database_url, jobs_redis_url, smtp, twilio) | {
        "OPENAI_BASE_URL": fake_llm.base_url,
        "OPENAI_API_KEY": "test-key",
        "LLM_TIMEOUT_S": 2.0,
    }


@pytest.fixture
def queued_app(app, settings):
    """The app queueing jobs in Redis for real instead of running them inline."""
    app.config.update(RQ_ASYNC=True, REDIS_URL=settings["REDIS_URL"])
    return app


def test_a_real_worker_answers_an_inbound_sms(queued_app, agent, sms, twilio, start_worker):
    worker = start_worker()

    response = sms.send("Can I book for Friday?")

    assert response.status_code == 200  # answered before the AI has said anything
    (sent,) = wait_for(lambda: list(twilio.messages), "the AI's answer by SMS", worker)
    assert (sent.from_, sent.to, sent.body) == (
        AGENT_NUMBER,
        CUSTOMER_NUMBER,
        "You said: Can I book for Friday?",
    )
    db.session.rollback()
    chat_id = db.session.scalar(select(Chat.id))
    assert conversation(chat_id) == [
        (Role.CLIENT, "Can I book for Friday?"),
        (Role.AGENT, "You said: Can I book for Friday?"),
    ]


def scheduled_send(queue: Queue):
    """The one send job scheduled for later, moved to the queue (its retry time, without
    waiting for it)."""
    registry = ScheduledJobRegistry(queue=queue)
    (job_id,) = registry.get_job_ids()
    job = queue.fetch_job(job_id)
    registry.remove(job)
    queue.enqueue_job(job)
    return job


def test_a_failed_send_is_retried_at_its_time_without_a_second_answer(
    queued_app, agent, sms, twilio, fake_llm, redis_db
):
    queue = Queue(JobQueue.ANSWERS, connection=redis_db)
    twilio.fail_next(1, 500)  # the send in the answer's job
    sms.send("Hello")
    before = utcnow()
    # The worker runs in this process and app context: the answer, its failed send.
    work_off(queue, redis_db)
    after = utcnow()

    db.session.rollback()
    delivery = db.session.scalars(select(SmsSend)).one()
    # The retry's time is in the database: a Redis that loses the job loses nothing.
    assert (delivery.state, delivery.attempts) == (SendState.TO_SEND, 1)
    retry_after = timedelta(seconds=SEND_RETRY_INTERVALS_S[0])
    assert before + retry_after <= delivery.due_at <= after + retry_after
    job = scheduled_send(queue)
    assert (job.func_name, job.args) == ("followup.jobs.sms.send_sms", (delivery.message_id, 1))
    assert twilio.messages == []

    work_off(queue, redis_db)

    assert [m.body for m in twilio.messages] == ["You said: Hello"]
    assert len(fake_llm.requests) == 1  # the answer was written once
    db.session.rollback()
    assert db.session.scalars(select(Message.role).order_by(Message.id)).all() == [
        Role.CLIENT,
        Role.AGENT,
    ]
    assert db.session.scalars(select(SmsSend.state)).one() == SendState.SENT


def test_a_retried_send_texts_only_the_parts_twilio_has_not_accepted(
    queued_app, agent, sms, twilio, fake_llm, redis_db
):
    """Twilio takes no idempotency key: each part's SID is saved as it comes back, and
    a send tried again (a retry, a job run twice) skips the parts that have one."""
    long_answer = " ".join(["word"] * 500)  # 2,499 characters: two texts
    fake_llm.behaviour.reply_text = long_answer
    # The first part goes; the second fails.
    twilio.fail_next(1, 500, after=1)
    queue = Queue(JobQueue.ANSWERS, connection=redis_db)
    sms.send("Tell me everything")
    work_off(queue, redis_db)
    assert len(twilio.messages) == 1

    scheduled_send(queue)
    work_off(queue, redis_db)

    first, second = (m.body for m in twilio.messages)
    assert f"{first} {second}" == long_answer  # each part once
    db.session.rollback()
    answer = db.session.scalars(select(Message).where(Message.role == Role.AGENT)).one()
    assert answer.sms_sids == [m.sid for m in twilio.messages]

    send_sms(answer.id, 2)  # the send job run once more: it is sent, nothing happens
    send_sms(answer.id, 1)
    assert len(twilio.messages) == 2
