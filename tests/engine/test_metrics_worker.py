"""The metrics a real `python worker.py` serves on METRICS_WORKER_PORT: jobs run in the
processes RQ forks, counted by kind and outcome; a reminder sent, with the model's call
and the tokens the model server reported; the worker's folder. And the queue depths the
web's /metrics reads from Redis.

Real time here (the worker is another process): a chain is made due a second or two
ahead by saying the client wrote a little less than the step's delay ago."""

import signal
import socket
import urllib.error
from datetime import timedelta
from pathlib import Path

import pytest
from rq import Queue

from followup.clock import utcnow
from followup.extensions import db
from followup.models import Message
from followup.queue import DELIVER_NOTIFICATIONS, SEND_REMINDERS, JobQueue
from followup.services import chats
from tests.helpers.apps import app_with_empty_schema
from tests.helpers.chains import make_agent, start_chat
from tests.helpers.jobs import WAIT_S, wait_for
from tests.helpers.metrics import parsed, scrape, value

STEP_DELAY = timedelta(minutes=1)
FINISHING, FAILING = 3, 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def settings(settings, tmp_path):
    # TMPDIR: the worker makes its metrics folder where the test can look at it.
    return settings | {"METRICS_WORKER_PORT": free_port(), "TMPDIR": str(tmp_path)}


@pytest.fixture
def app(settings, database_url):
    """Jobs go to Redis for a worker (RQ_ASYNC on)."""
    with app_with_empty_schema(database_url, **settings, RQ_ASYNC=True) as app:
        yield app


def worker_metrics(settings) -> dict | None:
    try:
        return scrape(f"http://127.0.0.1:{settings['METRICS_WORKER_PORT']}/metrics")
    except (urllib.error.URLError, ConnectionError):
        return None


def jobs(samples: dict, kind: str, outcome: str) -> float:
    return value(samples, "followup_jobs_total", kind=kind, outcome=outcome)


def test_the_web_reads_the_queue_depths_from_redis(app, redis_db):
    for _ in range(3):
        Queue(JobQueue.NOTIFICATIONS, connection=redis_db).enqueue(DELIVER_NOTIFICATIONS, [0])
    samples = parsed(app.test_client().get("/metrics").text)
    depths = {queue: value(samples, "followup_queue_depth", queue=queue) for queue in JobQueue}
    assert depths == {
        JobQueue.ANSWERS: 0,
        JobQueue.NOTIFICATIONS: 3,
        JobQueue.REMINDERS: 0,
        JobQueue.MAINTENANCE: 0,
    }


def test_a_real_worker_counts_its_jobs_by_kind_and_outcome(app, settings, redis_db, start_worker):
    worker = start_worker()
    wait_for(lambda: worker_metrics(settings), "the worker's metrics", worker)
    for _ in range(FINISHING):  # no such notification: nothing to do, the job finishes
        Queue(JobQueue.NOTIFICATIONS, connection=redis_db).enqueue(DELIVER_NOTIFICATIONS, [0])
    for _ in range(FAILING):  # not a reminder: the job raises
        Queue(JobQueue.REMINDERS, connection=redis_db).enqueue(SEND_REMINDERS, [["broken"]])

    def all_counted():
        samples = worker_metrics(settings) or {}
        done = jobs(samples, DELIVER_NOTIFICATIONS, "finished") + jobs(
            samples, SEND_REMINDERS, "failed"
        )
        return samples if done >= FINISHING + FAILING else None

    samples = wait_for(all_counted, "the jobs counted", worker)
    assert jobs(samples, DELIVER_NOTIFICATIONS, "finished") == FINISHING
    assert jobs(samples, SEND_REMINDERS, "failed") == FAILING
    assert jobs(samples, DELIVER_NOTIFICATIONS, "failed") == 0
    assert value(samples, "followup_http_requests_total") == 0  # no web metrics here

    # Each job ran in a process of its own; they took turns with one set of files.
    (folder,) = Path(settings["TMPDIR"]).glob("followup-metrics-worker-*")
    owners = {path.stem.split("_", 1)[1] for path in folder.glob("*.db")}
    assert owners <= {str(worker.process.pid), f"jobs-{worker.process.pid}"}
    assert f"jobs-{worker.process.pid}" in owners

    worker.process.send_signal(signal.SIGTERM)
    worker.process.wait(timeout=WAIT_S)
    assert not folder.exists()  # removed as the worker stopped


def test_a_reminder_sent_by_a_worker_with_its_call_and_tokens(app, tenant, settings, start_worker):
    make_agent(tenant, steps=[(1, "Check in kindly")])
    worker = start_worker()
    before = wait_for(lambda: worker_metrics(settings), "the worker's metrics", worker)
    chat = start_chat(tenant)
    chats.post_client_message(chat, "Do you have this in blue?")
    chat.last_client_message_at = utcnow() - STEP_DELAY + timedelta(seconds=1)
    db.session.commit()
    chats.reply(chat)  # the test's own call to the model: not the worker's

    def sent():
        samples = worker_metrics(settings) or {}
        return samples if value(samples, "followup_reminders_total", outcome="sent") else None

    samples = wait_for(sent, "the reminder counted", worker, 15)
    db.session.expire_all()
    (reminder,) = db.session.scalars(
        db.select(Message).where(Message.chat_id == chat.id, Message.reminder_step_id.is_not(None))
    ).all()
    db.session.rollback()
    assert value(samples, "followup_reminders_total", outcome="sent") == 1
    assert value(samples, "followup_reminders_total", outcome="failed") == 0
    assert value(samples, "followup_llm_calls_total", outcome="ok") == 1
    # As the fake model server reported them, and the reminder's message recorded them.
    assert reminder.prompt_tokens and reminder.completion_tokens
    tokens = "followup_llm_tokens_total"
    assert value(samples, tokens, direction="input") == reminder.prompt_tokens
    assert value(samples, tokens, direction="output") == reminder.completion_tokens
    assert value(before, tokens, direction="input") == 0
