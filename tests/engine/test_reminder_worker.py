"""Reminders sent by a real `python worker.py` (RQ worker with its scheduler) through a
real Redis, from the test's database (a SQLite file or PostgreSQL) and the fake model
server; and the sweep's bookkeeping against a real Redis queue.

Real time here (the worker is another process): a chain is made due a few seconds
ahead by saying the client wrote a little less than the step's delay ago.
"""

from datetime import timedelta

import pytest
from rq import Queue, Worker
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler
from sqlalchemy import select

from followup.clock import utcnow
from followup.extensions import db
from followup.jobs import reminders as reminder_jobs
from followup.models import Message, ReminderSend
from followup.queue import PRIORITY, JobQueue, wake_up_id
from followup.services import autofollowup, chats
from tests.helpers.apps import app_with_empty_schema
from tests.helpers.chains import make_agent, start_chat
from tests.helpers.jobs import wait_for

STEP_DELAY = timedelta(minutes=1)
# RQ's scheduler looks once a second and counts whole seconds; the job itself takes a
# few hundredths: a reminder goes out within this of its due time.
ON_TIME = timedelta(seconds=2.5)


@pytest.fixture
def settings(settings):
    return settings | {"REMINDER_SWEEP_INTERVAL_S": 1, "REMINDER_LOST_AFTER_S": 5}


@pytest.fixture
def app(settings, database_url):
    """Jobs go to Redis for a worker (RQ_ASYNC on)."""
    with app_with_empty_schema(database_url, **settings, RQ_ASYNC=True) as app:
        yield app


def chain_due_in(tenant, seconds: float):
    """A chat whose first reminder (1-minute step) is due `seconds` from now: the client
    wrote a little under a minute ago and the AI has just answered."""
    chat = start_chat(tenant)
    chats.post_client_message(chat, "Do you have this in blue?")
    chat.last_client_message_at = utcnow() - STEP_DELAY + timedelta(seconds=seconds)
    db.session.commit()
    chats.reply(chat)  # starts the chain and queues its job for the due time
    db.session.expire_all()
    return chat, chat.chain_due_at


def reminders_committed(chat) -> list[dict]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Message.__table__).where(
            Message.chat_id == chat.id, Message.reminder_step_id.is_not(None)
        )
    ).mappings()
    found = [dict(row) for row in rows]
    db.session.rollback()  # hold no snapshot while the worker writes
    return found


def worker_ready(redis_db) -> bool:
    """The worker is up and its scheduler holds the queue's lock."""
    return bool(Worker.all(connection=redis_db)) and bool(
        redis_db.exists(RQScheduler.get_locking_key(JobQueue.REMINDERS))
    )


def queues_idle(redis_db) -> bool:
    """No job waits in any queue (the sweep and the batches it queued were taken)."""
    return all(Queue(name, connection=redis_db).count == 0 for name in PRIORITY)


def sweep_like_the_cron(redis_db) -> None:
    """Queue the sweep as the worker's cron does every REMINDER_SWEEP_INTERVAL_S."""
    Queue(JobQueue.MAINTENANCE, connection=redis_db).enqueue(reminder_jobs.sweep_due_reminders)


def test_a_real_worker_sends_the_reminder_once_at_its_time(app, tenant, redis_db, start_worker):
    make_agent(tenant, steps=[(1, "Check in kindly"), (1, "Say a warm goodbye")])
    worker = start_worker()
    wait_for(lambda: worker_ready(redis_db), "the worker and its scheduler", worker)

    chat, due = chain_due_in(tenant, seconds=3)
    (reminder,) = wait_for(lambda: reminders_committed(chat), "the reminder", worker, 10)
    assert due <= reminder["created_at"] <= due + ON_TIME
    assert reminder["content"] == "You said: Do you have this in blue?"

    sweep_like_the_cron(redis_db)  # nothing is due: the sweep must not add a second one
    wait_for(lambda: queues_idle(redis_db), "the sweep", worker)
    db.session.expire_all()
    assert len(reminders_committed(chat)) == 1
    assert len(db.session.scalars(select(ReminderSend)).all()) == 1
    chat = db.session.get(type(chat), chat.id)
    assert chat.chain_due_at == reminder["created_at"] + STEP_DELAY  # step 2, from the send
    scheduled = ScheduledJobRegistry(JobQueue.REMINDERS, connection=redis_db).get_job_ids()
    assert wake_up_id(int(chat.chain_due_at.timestamp())) in scheduled


def test_the_sweep_sends_a_reminder_whose_job_redis_lost(app, tenant, redis_db, start_worker):
    make_agent(tenant, steps=[(1, "Check in kindly")])
    chat, due = chain_due_in(tenant, seconds=1)
    redis_db.flushdb()  # Redis restarted empty: the scheduled job is gone
    worker = start_worker()
    wait_for(lambda: worker_ready(redis_db), "the worker and its scheduler", worker)
    wait_for(lambda: utcnow() > due, "the due time")

    sweep_like_the_cron(redis_db)
    (reminder,) = wait_for(lambda: reminders_committed(chat), "the swept reminder", worker, 10)
    assert reminder["created_at"] >= due
    sweep_like_the_cron(redis_db)
    wait_for(lambda: queues_idle(redis_db), "the second sweep", worker)
    assert len(reminders_committed(chat)) == 1


def test_the_sweep_queues_a_due_reminder_nobody_has_claimed(app, tenant, redis_db):
    make_agent(tenant, steps=[(1, "Check in kindly")])
    _chat, due = chain_due_in(tenant, seconds=1)
    queue = Queue(JobQueue.REMINDERS, connection=redis_db)
    scheduled = ScheduledJobRegistry(JobQueue.REMINDERS, connection=redis_db)
    assert scheduled.get_job_ids() == [wake_up_id(int(due.timestamp()))]  # no worker
    wait_for(lambda: utcnow() > due, "the due time")

    assert reminder_jobs.sweep_due_reminders() == 1  # due and unclaimed: queued in a batch
    assert queue.count == 1
    assert reminder_jobs.sweep_due_reminders() == 0  # claimed: not twice

    redis_db.flushdb()  # Redis restarted empty: the claim and the batch are gone
    assert reminder_jobs.sweep_due_reminders() == 1
    assert queue.count == 1


def test_a_wake_up_shares_a_burst_among_the_workers(app, tenant, redis_db, start_worker):
    """Many chains due at the same moment (all waiting for an opening): one wake-up,
    batches for every worker, each reminder once."""
    app.config["REMINDER_BATCH"] = 3
    make_agent(tenant, steps=[(1, "Check in kindly")])
    workers = [start_worker(), start_worker()]
    wait_for(lambda: worker_ready(redis_db), "the workers and a scheduler", workers[0])
    burst = [start_chat(tenant) for _ in range(10)]
    due = utcnow() + timedelta(seconds=3)
    for chat in burst:
        chat.chain_cycle, chat.chain_step_id = 1, chat.agent.steps[0].id
        chat.chain_due_at, chat.last_client_message_at = due, due - STEP_DELAY
    db.session.commit()
    autofollowup.schedule(autofollowup.pending(burst[0]))

    def all_sent():
        return all(len(reminders_committed(chat)) == 1 for chat in burst)

    wait_for(all_sent, "a reminder in every chat", workers[0], 15)
    sweep_like_the_cron(redis_db)
    wait_for(lambda: queues_idle(redis_db), "the sweep", workers[0])
    assert all_sent()
    assert len(db.session.scalars(select(ReminderSend)).all()) == len(burst)
