"""The promise as a clock: each request keeps the response time in force when it was
made, its due time, and when its next alert (at risk, then overdue) is due. The outbox
learns three kinds: the assignment email and the two alerts; a request may be assigned
(and its assignee told) many times.

Requests open at the upgrade are armed only for the alerts still ahead of them: one
already past its time when the feature arrived gets no alert (no storm of old news).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 02:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

from followup.clock import utcnow
from followup.migration_helpers import rebuild_on_sqlite

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

OLD_KINDS = "'new_request', 'staff_invitation', 'password_reset', 'email_change'"
KINDS = f"{OLD_KINDS}, 'assigned', 'at_risk', 'overdue'"
NOT_ASSIGNED = sa.text("kind <> 'assigned'")
AT_RISK_SHARE = 0.75  # of the promised time, as services/promise.py says


def _later(conn, column: str, seconds: str) -> str:
    """SQL for `column` plus `seconds` (an SQL expression), in the column's own storage."""
    if conn.dialect.name == "sqlite":
        # As SQLAlchemy stores times on SQLite: microseconds, six digits.
        return f"strftime('%Y-%m-%d %H:%M:%f', {column}, '+' || ({seconds}) || ' seconds') || '000'"
    return f"{column} + make_interval(secs => {seconds})"


def _fill_promises(conn) -> None:
    conn.exec_driver_sql(
        "UPDATE followup_requests SET response_time_hours = (SELECT t.response_time_hours "
        "FROM tenants t WHERE t.id = followup_requests.tenant_id)"
    )
    due = _later(conn, "created_at", "response_time_hours * 3600")
    at_risk = _later(conn, "created_at", f"response_time_hours * {int(AT_RISK_SHARE * 3600)}")
    conn.exec_driver_sql(f"UPDATE followup_requests SET due_at = {due}")
    conn.execute(
        sa.text(
            f"UPDATE followup_requests SET next_alert_at = CASE "
            f"WHEN {at_risk} > :now THEN {at_risk} WHEN due_at > :now THEN due_at END "
            "WHERE status = 'pending'"
        ).bindparams(sa.bindparam("now", utcnow().replace(tzinfo=None), sa.DateTime()))
    )


def _not_null_on_sqlite(table_sql: str) -> str:
    return table_sql.replace(
        "response_time_hours INTEGER,", "response_time_hours INTEGER NOT NULL,"
    ).replace("due_at DATETIME,", "due_at DATETIME NOT NULL,")


def _add_promise_columns(conn) -> None:
    for name, type_ in (
        ("response_time_hours", sa.Integer()),
        ("due_at", sa.DateTime()),
        ("next_alert_at", sa.DateTime()),
    ):
        op.add_column("followup_requests", sa.Column(name, type_, nullable=True))
    _fill_promises(conn)
    if conn.dialect.name == "sqlite":
        rebuild_on_sqlite("followup_requests", _not_null_on_sqlite)
    else:
        op.alter_column("followup_requests", "response_time_hours", nullable=False)
        op.alter_column("followup_requests", "due_at", nullable=False)
    op.create_index("ix_followup_requests_next_alert_at", "followup_requests", ["next_alert_at"])


def upgrade():
    _add_promise_columns(op.get_bind())
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_notifications_followup_id_channel_kind"), type_="unique"
        )
        batch_op.drop_constraint(batch_op.f("ck_notifications_kind_allowed"), type_="check")
        batch_op.create_check_constraint("kind_allowed", f"kind IN ({KINDS})")
    op.create_index(
        "uq_notifications_followup_channel_kind",
        "notifications",
        ["followup_id", "channel", "kind"],
        unique=True,
        sqlite_where=NOT_ASSIGNED,
        postgresql_where=NOT_ASSIGNED,
    )


def downgrade():
    op.execute(
        sa.text("DELETE FROM notifications WHERE kind IN ('assigned', 'at_risk', 'overdue')")
    )
    op.drop_index("uq_notifications_followup_channel_kind", table_name="notifications")
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_notifications_kind_allowed"), type_="check")
        batch_op.create_check_constraint("kind_allowed", f"kind IN ({OLD_KINDS})")
        batch_op.create_unique_constraint(
            batch_op.f("uq_notifications_followup_id_channel_kind"),
            ["followup_id", "channel", "kind"],
        )
    op.drop_index("ix_followup_requests_next_alert_at", table_name="followup_requests")
    # SQLite 3.35+ drops a column in place once no constraint or index names it.
    for name in ("next_alert_at", "due_at", "response_time_hours"):
        op.drop_column("followup_requests", name)
