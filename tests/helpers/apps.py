"""Test apps on a database of their own: SQLite files, and scratch databases on the
PostgreSQL server at TEST_POSTGRES_URL; the Redis database the test apps use."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask

from followup.config import TestConfig
from followup.extensions import db
from followup.factory import create_app
from tests.helpers.machine import unavailable

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DATABASES = ["sqlite", "postgresql"]


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
        unavailable(f"PostgreSQL is not answering at {POSTGRES_ADMIN_URL}")
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


def build_app(database_url: str, **overrides):
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": REDIS_TEST_URL,
        # Live-update counters of its own: test apps share Redis and tenant ids.
        "LIVE_KEY_PREFIX": f"test:live:{uuid.uuid4().hex}:",
    }
    return create_app(type("AppTestConfig", (TestConfig,), settings | overrides))


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


def empty_tables() -> None:
    """Every row gone, the schema kept (a database to reuse, as the e2e server's)."""
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


def text_of(response) -> str:
    """A test client's response body as text."""
    return response.get_data(as_text=True)
