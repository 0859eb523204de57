"""Fixtures for the background-job tests: a real Redis, real RQ workers, a real SMTP
server and a local server speaking Twilio's API (those are shared with the engine and
SMS tests: tests/fixtures/jobs.py).

- `app` (overriding the root one, still once per database) queues jobs in Redis
  for real (`RQ_ASYNC`) and sends mail over SMTP to the aiosmtpd server `smtp`;
  SMS go through the Twilio SDK to `twilio`.
- `settings`: what the test app and the workers `start_worker()` runs share.
"""

import pytest

from tests.helpers.apps import app_with_empty_schema
from tests.helpers.jobs import shared_settings


@pytest.fixture
def settings(database_url, jobs_redis_url, smtp, twilio, redis_db) -> dict:
    return shared_settings(database_url, jobs_redis_url, smtp, twilio)


@pytest.fixture
def app(settings, database_url):
    with app_with_empty_schema(
        database_url, **settings, RQ_ASYNC=True, MAIL_SUPPRESS_SEND=False
    ) as app:
        yield app
