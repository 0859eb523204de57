"""A customer's SMS is answered before bulk work: one real `python worker.py` serves the
queues most urgent first (followup.queue.PRIORITY), so the answer waits at most for the
job in hand, not for every reminder or notification queued before it."""

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from followup.clock import utcnow
from followup.extensions import db
from followup.jobs import reminders as reminder_jobs
from followup.models import Chat, Message, Notification, ReminderSend
from tests.helpers.chains import make_agent
from tests.helpers.jobs import outbox_rows, shared_settings, wait_for

ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
DUE_REMINDERS = 500
WAIT_S = 60


@pytest.fixture
def settings(database_url, jobs_redis_url, smtp, twilio, redis_db, fake_llm, blackhole):
    """What the test's app and the worker share; the mail server never answers."""
    return shared_settings(database_url, jobs_redis_url, smtp, twilio) | {
        "OPENAI_BASE_URL": fake_llm.base_url,
        "OPENAI_API_KEY": "test-key",
        "LLM_TIMEOUT_S": 5.0,
        "MAIL_PORT": blackhole.port,
        "MAIL_TIMEOUT_S": 1,
        "NOTIFY_JOB_TIMEOUT_S": 20,
        "NOTIFY_SEND_LEASE_S": 25,
    }


@pytest.fixture
def queued_app(app, settings):
    """The app queueing jobs in Redis for real instead of running them inline."""
    app.config.update(RQ_ASYNC=True, REDIS_URL=settings["REDIS_URL"])
    return app


def seed_due_reminders(tenant, count: int) -> None:
    """`count` web chats whose first reminder is due now (the client wrote, the AI
    answered, the step's minute has passed), inserted in bulk."""
    step = make_agent(tenant, steps=[(1, "Check in kindly")], name="Alexey").steps[0]
    now = utcnow()
    rows = [
        {
            "tenant_id": tenant.id,
            "agent_id": step.agent_id,
            "title": f"Visitor {n}",
            "chain_cycle": 1,
            "chain_step_id": step.id,
            "chain_due_at": now - timedelta(seconds=1),
            "last_client_message_at": now - timedelta(minutes=1, seconds=1),
        }
        for n in range(count)
    ]
    db.session.execute(insert(Chat), rows)
    chat_ids = db.session.scalars(select(Chat.id).where(Chat.agent_id == step.agent_id)).all()
    db.session.execute(
        insert(Message),
        [
            {"chat_id": chat_id, "role": role, "content": text}
            for chat_id in chat_ids
            for role, text in (("client", "Is the blue one in stock?"), ("agent", "Let me check."))
        ],
    )
    db.session.commit()


def reminders_sent() -> int:
    db.session.rollback()  # see what the worker committed
    return db.session.scalar(select(func.count()).select_from(ReminderSend))


@ONE_DATABASE
def test_an_sms_answer_goes_out_while_500_reminders_are_due(
    queued_app, tenant, agent, sms, twilio, start_worker
):
    seed_due_reminders(tenant, DUE_REMINDERS)
    assert reminder_jobs.sweep_due_reminders() == DUE_REMINDERS  # queued, in batches
    sms.send("Can I book for Friday?")  # queued after every batch

    worker = start_worker()
    (answer,) = wait_for(lambda: list(twilio.messages), "the SMS answer", worker, WAIT_S)

    assert answer.body == "You said: Can I book for Friday?"
    # It did not wait for the reminders: at most the batch a worker had in hand.
    assert reminders_sent() <= queued_app.config["REMINDER_BATCH"]


@ONE_DATABASE
def test_a_worker_stuck_on_a_silent_mail_server_still_answers_sms_first(
    queued_app, tenant, agent, sms, twilio, make_followup, start_worker
):
    worker = start_worker()
    for _ in range(3):  # a job each: two emails, each waiting out MAIL_TIMEOUT_S
        make_followup(tenant)
    wait_for(
        lambda: any(row["state"] == "sending" for row in outbox_rows()),
        "the worker to be stuck on the mail server",
        worker,
    )
    sms.send("Are you open on Sunday?")

    (answer,) = wait_for(lambda: list(twilio.messages), "the SMS answer", worker, WAIT_S)
    assert answer.body == "You said: Are you open on Sunday?"
    # The answer went before the notification jobs queued ahead of it.
    untried = [row for row in outbox_rows() if row["attempts"] == 0]
    assert len(untried) >= 2
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 6
