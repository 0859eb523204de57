"""`flask db upgrade` on an empty database gives exactly the models' schema, on both databases.

The other tests build their schema with `db.create_all()`; this is the test that
keeps the migrations honest against the models (no drift), and that they can be
walked down and up again.
"""

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from followup.extensions import db
from followup.models.base import exists_on_dialect
from tests.conftest import build_app, scratch_postgres_database


@pytest.fixture
def empty_postgres_url(worker_id):
    """A database of its own: the session's shared one already holds `create_all` tables."""
    with scratch_postgres_database("migrations", worker_id) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_app(request, tmp_path):
    """An app on a database with no tables at all."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    else:
        url = request.getfixturevalue("empty_postgres_url")
    app = build_app(url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def schema_drift() -> list:
    """What autogenerate would write for the current database: [] when there is no drift."""
    with db.engine.connect() as conn:
        dialect_name = conn.dialect.name
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_object": lambda obj, _name, type_, reflected, _other: exists_on_dialect(
                    obj, type_, reflected, dialect_name
                ),
            },
        )
        return compare_metadata(context, db.metadata)


def table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_upgrade_on_an_empty_database_gives_exactly_the_models_schema(empty_app):
    assert table_names() == set()
    flask_migrate.upgrade()
    assert table_names() == set(db.metadata.tables) | {"alembic_version"}
    assert schema_drift() == []


def test_downgrade_to_base_and_upgrade_again(empty_app):
    flask_migrate.upgrade()
    flask_migrate.downgrade(revision="base")
    assert table_names() <= {"alembic_version"}
    flask_migrate.upgrade()
    assert schema_drift() == []


def test_postgresql_gets_the_trigram_search_index(empty_app):
    flask_migrate.upgrade()
    indexes = {ix["name"] for ix in sa.inspect(db.engine).get_indexes("followup_requests")}
    has_trigram = "ix_followup_requests_search_trgm" in indexes
    assert has_trigram == (db.engine.dialect.name == "postgresql")
