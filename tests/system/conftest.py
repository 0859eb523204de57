"""Fixtures for the System page tests: the app on a Redis database of its own (flushed
around each test), sending mail over SMTP to the aiosmtpd server `smtp` and SMS through
the Twilio SDK to the local `twilio` server; jobs are queued in Redis, not run."""

import pytest

from tests.helpers.jobs import app_with_the_fake_model, shared_settings


@pytest.fixture
def settings(database_url, jobs_redis_url, smtp, twilio, redis_db) -> dict:
    return shared_settings(database_url, jobs_redis_url, smtp, twilio)


@pytest.fixture
def app(settings, database_url, fake_llm):
    with app_with_the_fake_model(database_url, settings, fake_llm.base_url) as app:
        yield app
