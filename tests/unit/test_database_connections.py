"""Pooled PostgreSQL connections: checked before use only after being idle, and a
database restart costs one failed statement per process, not one per connection."""

import time
from contextlib import ExitStack

import pytest
import sqlalchemy as sa

from followup import extensions
from followup.extensions import db
from tests.helpers.apps import app_with_empty_schema

BACKEND_PID = sa.text("SELECT pg_backend_pid()")


@pytest.fixture
def engine(postgres_url):
    with app_with_empty_schema(postgres_url):
        db.session.remove()
        db.engine.dispose()  # an empty pool: each test knows every connection in it
        yield db.engine


def _pooled_backends(engine, count: int) -> list[int]:
    """Open `count` connections at once, note their server processes, return them to
    the pool."""
    with ExitStack() as stack:
        connections = [stack.enter_context(engine.connect()) for _ in range(count)]
        return [conn.scalar(BACKEND_PID) for conn in connections]


def _terminate(engine, pids: list[int]) -> None:
    """What a database restart does to the pool's connections."""
    killer = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    with killer.connect() as conn:
        for pid in pids:
            assert conn.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()


def test_connections_idle_past_the_limit_are_checked_and_replaced(engine, monkeypatch):
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE_S", 0.05)
    old_pids = _pooled_backends(engine, 3)
    _terminate(engine, old_pids)
    time.sleep(0.1)

    new_pids = _pooled_backends(engine, 3)  # no error: the check found them gone

    assert not set(new_pids) & set(old_pids)


def test_after_a_restart_one_statement_fails_and_the_whole_pool_is_replaced(engine):
    old_pids = _pooled_backends(engine, 3)
    _terminate(engine, old_pids)

    # Used moments ago, so handed over unchecked: the loss shows at the first statement.
    with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
        conn.scalar(BACKEND_PID)

    new_pids = _pooled_backends(engine, 3)  # all three at once: none of the old ones
    assert not set(new_pids) & set(old_pids)


def test_a_burst_of_requests_leaves_every_connection_it_opened_in_the_pool(engine):
    """Opening a PostgreSQL connection starts a server process: a busy moment must not
    open and close them by the hundred. Up to POOL_SIZE at once, all stay pooled and
    the next burst reuses them."""
    first = _pooled_backends(engine, extensions.POOL_SIZE)
    assert engine.pool.checkedin() == extensions.POOL_SIZE
    assert sorted(_pooled_backends(engine, extensions.POOL_SIZE)) == sorted(first)
