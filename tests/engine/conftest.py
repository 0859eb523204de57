"""Fixtures for the auto follow-up engine: the `app` (once per database) with a Redis
database of this test process's own, a clock the tests move, and an AI employee with
the spec's three-step chain.

Jobs run in the test's process (RQ_ASYNC off) unless a test builds a worker app: a
test makes time pass with `clock`, then runs what is due with `run_due()`. The Redis
database, the Twilio fake and `start_worker` (a real `python worker.py`) are the job
tests' (tests/fixtures/jobs.py).
"""

import pytest
import time_machine

from tests.helpers.apps import app_with_empty_schema
from tests.helpers.chains import START, Clock, engine_settings, make_agent, start_chat


@pytest.fixture
def settings(database_url, jobs_redis_url, fake_llm, twilio_server, redis_db) -> dict:
    return engine_settings(database_url, jobs_redis_url, fake_llm, twilio_server)


@pytest.fixture
def app(settings, database_url):
    with app_with_empty_schema(database_url, **settings) as app:
        yield app


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
