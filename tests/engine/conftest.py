"""Fixtures for the auto follow-up engine: the `app` (once per database) with a Redis
database of this test process's own, a clock the tests move, and an AI employee with
the spec's three-step chain.

Jobs run in the test's process (RQ_ASYNC off) unless a test builds a worker app: a
test makes time pass with `clock`, then runs what is due with `run_due()`.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.engine.helpers import make_agent, start_chat
from tests.helpers.apps import app_with_empty_schema
from tests.jobs import conftest as job_fixtures

# Borrowed from the job tests: a Redis database lent to this process alone, flushed
# around each test (the sweep keeps a lock and job ids there); the Twilio fake; a real
# `python worker.py`.
jobs_redis_url = job_fixtures.jobs_redis_url
redis_db = job_fixtures.redis_db
twilio_server = job_fixtures.twilio_server
twilio = job_fixtures.twilio
start_worker = job_fixtures.start_worker

# A Monday morning, in winter time (Europe/Berlin is UTC+1).
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def engine_settings(database_url, redis_url, fake_llm, twilio_server) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "OPENAI_BASE_URL": fake_llm.base_url,
        "OPENAI_API_KEY": "test-key",
        "LLM_TIMEOUT_S": 2.0,
        "TWILIO_ACCOUNT_SID": twilio_server.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_server.auth_token,
        "TWILIO_FROM_NUMBER": job_fixtures.TWILIO_FROM,
        "TWILIO_API_BASE": twilio_server.base_url,
    }


@pytest.fixture
def settings(database_url, jobs_redis_url, fake_llm, twilio_server, redis_db) -> dict:
    return engine_settings(database_url, jobs_redis_url, fake_llm, twilio_server)


@pytest.fixture
def app(settings, database_url):
    with app_with_empty_schema(database_url, **settings) as app:
        yield app


@dataclass
class Clock:
    traveller: object

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, **delta) -> datetime:
        self.traveller.shift(timedelta(**delta))
        return self.now()

    def move_to(self, moment: datetime) -> datetime:
        self.traveller.move_to(moment)
        return self.now()


@pytest.fixture
def clock():
    """Time stands still unless the test moves it."""
    with time_machine.travel(START, tick=False) as traveller:
        yield Clock(traveller)


@pytest.fixture
def agent(tenant):
    """Alexey: answers the widget, 24/7, auto follow-up on with the spec's 3 steps
    (4 h, 24 h, 48 h)."""
    return make_agent(tenant)


@pytest.fixture
def chat(clock, agent, tenant):
    """A website chat with Alexey, greeting only, started at START."""
    return start_chat(tenant, name="Michael Brown")
