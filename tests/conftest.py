"""Fixtures: an app on a fresh database per test, on SQLite and on PostgreSQL.

Every test that uses `app` runs once per database. PostgreSQL is the server on
127.0.0.1:5432 (`TEST_POSTGRES_URL` to change it); it is skipped when it does not
answer, except under CI, where a missing database is a failure.
"""

import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask, g
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from followup.config import TestConfig
from followup.extensions import db
from followup.factory import create_app
from followup.models import Source
from followup.services import api_tokens, followups, staff_accounts, tenants
from tests.fakes.openai_server import FakeOpenAI

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PASSWORD = "correct horse battery"
DATABASES = ["sqlite", "postgresql"]


def pytest_report_header() -> str | None:
    """`make test-clock` says how far ahead it runs; a run that asked and is not ahead fails."""
    days = os.environ.get("FOLLOWUP_TEST_CLOCK_AHEAD_DAYS")
    if not days:
        return None
    mover = getattr(sys.modules.get("sitecustomize"), "__file__", "") or ""
    assert "clock_ahead" in mover, "the clock is not ahead: put tests/clock_ahead on PYTHONPATH"
    return f"clock moved {days} days ahead: today is {datetime.now(UTC):%Y-%m-%d}"


def _postgres_reachable() -> bool:
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


@contextmanager
def scratch_postgres_database(purpose: str, worker_id: str) -> Iterator[str]:
    """An empty database of our own on the PostgreSQL server, dropped afterwards.

    Skips when the server does not answer, except under CI, where that fails.
    """
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not answering at {POSTGRES_ADMIN_URL}")
        pytest.skip("PostgreSQL is not answering")
    # The pid keeps concurrent test runs on one server out of each other's way.
    name = f"followup_{purpose}_{os.getpid()}_{worker_id}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    drop = sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    with admin.connect() as conn:
        conn.execute(drop)
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(drop)
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url(worker_id):
    """The database the `app` fixture uses on PostgreSQL, made anew for this test session."""
    with scratch_postgres_database("test", worker_id) as url:
        yield url


@pytest.fixture(scope="session")
def worker_id(request) -> str:
    # pytest-xdist provides the same fixture; this one serves plain `pytest` runs.
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


_schema_ready: set[str] = set()


def _reset_postgres_schema(url: str) -> None:
    """Create the schema once per session, then empty the tables between tests."""
    if url not in _schema_ready:
        db.drop_all()
        db.create_all()
        _schema_ready.add(url)
        return
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


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


def build_app(database_url: str, **overrides):
    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS_TEST_URL}
    return create_app(type("AppTestConfig", (TestConfig,), settings | overrides))


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")


@contextmanager
def app_with_empty_schema(database_url: str, **overrides) -> Iterator[Flask]:
    """A test app in its context, on the models' schema with empty tables."""
    app = build_app(database_url, **overrides)
    with app.app_context():
        if database_url.startswith("sqlite"):
            db.create_all()
        else:
            _reset_postgres_schema(database_url)
        yield app
        db.session.remove()
        db.engine.dispose()


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


class StaffBrowser:
    """A staff member's browser: the test client plus the CSRF token and HTMX headers."""

    def __init__(self, client: FlaskClient):
        self.client = client
        self.csrf_token: str | None = None

    def refresh_csrf(self, url: str = "/login") -> None:
        page = self.client.get(url).get_data(as_text=True)
        match = re.search(r'name="csrf-token" content="([^"]+)"', page) or re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', page
        )
        assert match, f"no CSRF token on {url}"
        self.csrf_token = match.group(1)

    def login(self, email: str, password: str = PASSWORD):
        self.refresh_csrf("/login")
        return self.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": self.csrf_token}
        )

    @staticmethod
    def _headers(htmx: bool, headers: dict | None) -> dict:
        merged = {"HX-Request": "true"} if htmx else {}
        return merged | (headers or {})

    def get(self, url: str, htmx: bool = False, headers: dict | None = None, **kwargs):
        return self.client.get(url, headers=self._headers(htmx, headers), **kwargs)

    def post(
        self,
        url: str,
        data=None,
        htmx: bool = False,
        csrf: bool = True,
        headers: dict | None = None,
        **kwargs,
    ):
        headers = self._headers(htmx, headers)
        if csrf:
            headers["X-CSRFToken"] = self.csrf_token
        return self.client.post(url, data=data, headers=headers, **kwargs)


@pytest.fixture
def browser(app) -> StaffBrowser:
    """A browser with nobody logged in."""
    return StaffBrowser(app.test_client())


def as_a_new_request() -> None:
    """Forget what `g` kept from the last request: the tests share one app context, so
    `g` outlives a request, while on a server each request loads its user (and its CSRF
    token) anew. Call it between requests of different browsers or moved clocks."""
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def logged_in_browser(app: Flask, email: str) -> StaffBrowser:
    """A browser with the staff member `email` logged in."""
    browser = StaffBrowser(app.test_client())
    response = browser.login(email)
    assert response.status_code == 303, response.get_data(as_text=True)
    browser.refresh_csrf("/admin/followups")
    return browser


@pytest.fixture
def staff_browser(app, staff) -> StaffBrowser:
    """A browser with the tenant's owner logged in."""
    return logged_in_browser(app, staff.email)


def empty_tables() -> None:
    """Every row gone, the schema kept (a database to reuse, as the e2e server's)."""
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


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
