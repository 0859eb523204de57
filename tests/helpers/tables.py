"""Rows in every table of a database as it is now (reflected, so at any schema revision):
for the tests of the migrations and of backups."""

from datetime import UTC, date, datetime

import sqlalchemy as sa

from followup.extensions import db

# Values that satisfy the CHECK constraints of the older schemas; any other column
# gets a value of its type.
CHECKED_VALUES = {
    "priority": "normal",
    "status": "pending",
    "state": "pending",
    "source": "text",
    "role": "client",
    "notifications.channel": "staff_email",
    "notifications.kind": "new_request",
    "followup_activity.kind": "note",
    "sms_answers.state": "waiting",
    "sms_sends.state": "to_send",
    "staff_users.role": "owner",
    "staff_users.status": "active",
    "staff_tokens.purpose": "invitation",
    "tenants.voice_mode": "automatic",
    "tenants.visitor_locale": "en",
    "chats.locale": "en",
    "widget_looks.position": "right",
    "report_counts.metric": "requests",
}


def value_for(column: sa.Column):
    for key in (f"{column.table.name}.{column.name}", column.name):
        if key in CHECKED_VALUES:
            return CHECKED_VALUES[key]
    if isinstance(column.type, sa.Date):  # report_days.day is part of a primary key
        return date(2026, 1, 1)
    if column.foreign_keys or column.primary_key:
        return 1
    python_type = {
        sa.Integer: 1,
        sa.Boolean: False,
        sa.DateTime: datetime(2026, 1, 1, tzinfo=UTC),  # a fixed moment, not the server's clock
        sa.JSON: {},
    }
    for type_, value in python_type.items():
        if isinstance(column.type, type_):
            return value
    return column.name[: getattr(column.type, "length", None) or None]


def fill_every_table() -> dict[str, int]:
    """One row in every table of the database as it is now (each foreign key points at
    row 1 of its table); returns the row count of each table."""
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    with db.engine.begin() as conn:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            row = {
                column.name: value_for(column)
                for column in table.columns
                if column.computed is None and not (column.nullable and not column.foreign_keys)
            }
            conn.execute(table.insert().values(row))
    return row_counts(metadata)


def row_counts(metadata: sa.MetaData) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            table.name: conn.scalar(sa.select(sa.func.count()).select_from(table))
            for table in metadata.sorted_tables
            if table.name != "alembic_version"
        }
