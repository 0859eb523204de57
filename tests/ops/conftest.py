"""Fixtures of the operator's tests: a migrated database to back up and an empty one to
restore into, on SQLite and on PostgreSQL."""

import pytest

from tests.helpers.apps import scratch_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_urls(request, tmp_path, worker_id):
    """(the database backed up, a database with no tables to restore into)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 'restored.db'}"
        return
    with (
        scratch_postgres_database("backup_source", worker_id) as source,
        scratch_postgres_database("backup_target", worker_id) as target,
    ):
        yield source, target
