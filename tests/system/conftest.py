"""Fixtures for the System page tests: the app on a Redis database of its own (flushed
around each test), sending mail over SMTP to the aiosmtpd server `smtp` and SMS through
the Twilio SDK to the local `twilio` server; jobs are queued in Redis, not run."""

import pytest

from tests.helpers.apps import app_with_empty_schema
from tests.helpers.jobs import shared_settings


@pytest.fixture
def settings(database_url, jobs_redis_url, smtp, twilio, redis_db) -> dict:
    return shared_settings(database_url, jobs_redis_url, smtp, twilio)


@pytest.fixture
def app(settings, database_url, fake_llm):
    with app_with_empty_schema(
        database_url,
        **settings,
        RQ_ASYNC=True,
        MAIL_SUPPRESS_SEND=False,
        OPENAI_BASE_URL=fake_llm.base_url,
        OPENAI_API_KEY="test-key",
        LLM_TIMEOUT_S=2.0,
    ) as app:
        yield app
