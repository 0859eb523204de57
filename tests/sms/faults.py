"""What the SMS fault tests share: real `python worker.py` processes with a lease of a
few seconds and a sweep every second, so what a killed worker or an emptied Redis left
behind is done again within a test's wait; a Redis of the test's own to restart."""

import pytest
from redis import Redis
from rq import Worker
from rq.scheduler import RQScheduler

from followup.queue import JobQueue
from tests.jobs.conftest import shared_settings
from tests.jobs.redis_server import PrivateRedis

LEASE_S = 5.0
# libpq names the worker's connections so a test can drop them and no other.
WORKER_APP_NAME = "followup-test-worker"


@pytest.fixture
def settings(database_url, jobs_redis_url, smtp, twilio, redis_db, fake_llm):
    """What the test's app and the workers share (start_worker passes it on)."""
    return shared_settings(database_url, jobs_redis_url, smtp, twilio) | {
        "OPENAI_BASE_URL": fake_llm.base_url,
        "OPENAI_API_KEY": "test-key",
        "LLM_TIMEOUT_S": 3.0,
        "SMS_ANSWER_LEASE_S": LEASE_S,
        "PGAPPNAME": WORKER_APP_NAME,
    }


@pytest.fixture
def queued_app(app, settings):
    """The app queueing jobs in Redis for real instead of running them inline."""
    app.config.update(RQ_ASYNC=True, REDIS_URL=settings["REDIS_URL"], SMS_ANSWER_LEASE_S=LEASE_S)
    return app


@pytest.fixture
def private_redis():
    server = PrivateRedis().start()
    yield server
    server.stop()


def worker_ready(redis_url: str) -> bool:
    """A worker is up and its scheduler (which runs jobs queued for later) holds the queue."""
    with Redis.from_url(redis_url) as connection:
        return bool(Worker.all(connection=connection)) and bool(
            connection.exists(RQScheduler.get_locking_key(JobQueue.ANSWERS))
        )
