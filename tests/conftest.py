"""Fixtures: an app on a fresh database per test, on SQLite and on PostgreSQL.

Every test that uses `app` runs once per database. PostgreSQL is the server on
127.0.0.1:5432 (`TEST_POSTGRES_URL` to change it); it is skipped when it does not
answer, except under CI, where a missing database is a failure.
"""

import os
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from werkzeug.serving import make_server

from followup.models import Source
from followup.services import api_tokens, followups, staff_accounts, tenants
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers.apps import DATABASES, app_with_empty_schema, scratch_postgres_database
from tests.helpers.staff import PASSWORD, StaffBrowser, logged_in_browser

# The job tests' servers and workers, shared with the engine and SMS tests.
pytest_plugins = ["tests.fixtures.jobs"]


def pytest_report_header() -> str | None:
    """`make test-clock` says how far ahead it runs; a run that asked and is not ahead fails."""
    days = os.environ.get("FOLLOWUP_TEST_CLOCK_AHEAD_DAYS")
    if not days:
        return None
    mover = getattr(sys.modules.get("sitecustomize"), "__file__", "") or ""
    assert "clock_ahead" in mover, "the clock is not ahead: put tests/clock_ahead on PYTHONPATH"
    return f"clock moved {days} days ahead: today is {datetime.now(UTC):%Y-%m-%d}"


@pytest.fixture(scope="session")
def postgres_url(worker_id):
    """The database the `app` fixture uses on PostgreSQL, made anew for this test session."""
    with scratch_postgres_database("test", worker_id) as url:
        yield url


@pytest.fixture(scope="session")
def worker_id(request) -> str:
    # pytest-xdist provides the same fixture; this one serves plain `pytest` runs.
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def fake_llm_server():
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def fake_llm(fake_llm_server):
    """The local OpenAI-compatible server every test app talks to, reset for each test."""
    fake_llm_server.reset()
    return fake_llm_server


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def app(database_url, fake_llm):
    with app_with_empty_schema(
        database_url,
        OPENAI_BASE_URL=fake_llm.base_url,
        OPENAI_API_KEY="test-key",
        LLM_TIMEOUT_S=2.0,
    ) as app:
        yield app


@pytest.fixture
def moved_clock():
    """A fixed day, time going on from it: for tests whose data and pages both read "now".
    Yields time-machine's traveller: `moved_clock.shift(timedelta(hours=13))` jumps ahead."""
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def tenant(app):
    return tenants.create_tenant("acme", "Acme Inc", contact_email="team@acme.example")


@pytest.fixture
def other_tenant(app):
    return tenants.create_tenant("globex", "Globex Corp", contact_email="ops@globex.example")


@pytest.fixture
def staff(tenant):
    return staff_accounts.create_staff_user(
        "acme", "owner@acme.example", PASSWORD, name="Olivia Owner"
    )


@pytest.fixture
def browser(app) -> StaffBrowser:
    """A browser with nobody logged in."""
    return StaffBrowser(app.test_client())


@pytest.fixture
def staff_browser(app, staff) -> StaffBrowser:
    """A browser with the tenant's owner logged in."""
    return logged_in_browser(app, staff.email)


@pytest.fixture
def make_followup(app):
    """Create a follow-up request through the service, with sensible defaults."""
    counter = iter(range(1, 1_000_000))

    def make(tenant, **fields):
        n = next(counter)
        data = {
            "name": f"Customer {n}",
            "email": f"customer{n}@example.com",
            "reason": f"Needs help with order {n}",
        } | {k: v for k, v in fields.items() if k not in ("source", "chat_id")}
        return followups.create_followup(
            tenant.id, data, source=fields.get("source", Source.API), chat_id=fields.get("chat_id")
        )

    return make


@pytest.fixture
def api_token(tenant) -> str:
    return api_tokens.create_api_token(tenant.slug, "tests")


@pytest.fixture
def live_port(app) -> Iterator[int]:
    """The app served by a real threaded HTTP server (streams, concurrent requests); its port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=5)
