"""Which migration the database's schema is at, and the newest one the code has."""

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import Migrate

SCHEMA_TABLE = "alembic_version"


def revisions(connection: sa.Connection) -> list[str]:
    """The revisions the database is at (none before the first `db upgrade`). Read
    directly: alembic's MigrationContext logs two INFO lines each time it is made."""
    if not sa.inspect(connection).has_table(SCHEMA_TABLE):
        return []
    query = sa.select(sa.column("version_num")).select_from(sa.table(SCHEMA_TABLE))
    return sorted(connection.scalars(query))


def heads() -> list[str]:
    """The newest revisions of the code's migrations folder."""
    migrate: Migrate = current_app.extensions["migrate"].migrate
    return sorted(ScriptDirectory.from_config(migrate.get_config()).get_heads())
