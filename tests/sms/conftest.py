"""Fixtures for the SMS channel: the app talking to the local Twilio server, an AI
employee with its own number, and `sms`, which sends inbound texts to the webhook
signed exactly as Twilio signs them (tests/helpers/sms.py).

The fault tests run real `python worker.py` processes (`start_worker`, from
tests/fixtures/jobs.py) with `settings` and `queued_app` below, and restart a Redis of
their own (`private_redis`); test_sms_worker.py and test_answer_priority.py override
`settings` and `queued_app` with their own.
"""

import pytest

from followup.extensions import db
from followup.models import Agent
from tests.helpers.jobs import shared_settings
from tests.helpers.redis_server import PrivateRedis
from tests.helpers.sms import AGENT_NUMBER, LEASE_S, WORKER_APP_NAME, InboundSms, twilio_settings


@pytest.fixture
def app(app, twilio):
    """The root `app` (once per database), with Twilio pointing at the local server."""
    app.config.update(twilio_settings(twilio))
    return app


@pytest.fixture
def agent(tenant) -> Agent:
    agent = Agent(tenant_id=tenant.id, name="Sam", sms_number=AGENT_NUMBER)
    db.session.add(agent)
    db.session.commit()
    return agent


@pytest.fixture
def sms(app, twilio) -> InboundSms:
    return InboundSms(app.test_client(), twilio.auth_token)


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
