"""Requests get an assignee, and a timeline of activity (notes, assignment and priority
changes; status changes keep their table). The staff notes of each request become its
first note, written at the request's creation time, so nothing typed is lost.

The notes column stays (the REST API's `notes` field still reads and writes it);
walked down, the notes added to timelines are appended to it, newest last.

Revision ID: 0021
Revises: 0020_team
Create Date: 2026-12-07 00:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

from followup.migration_helpers import rebuild_on_sqlite

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020_team"
branch_labels = None
depends_on = None

KINDS = "'note', 'assignment', 'priority'"
# Who wrote the notes that became a first note: nobody recorded it.
EARLIER_NOTES_AUTHOR = "Staff notes (before the timeline)"


ASSIGNEE_FK = "fk_followup_requests_assignee_id_staff_users"
ASSIGNEE_FK_SQL = (
    f"CONSTRAINT {ASSIGNEE_FK} FOREIGN KEY(assignee_id) REFERENCES staff_users (id) "
    "ON DELETE SET NULL"
)


def _with_assignee_fk(table_sql: str) -> str:
    head, _, tail = table_sql.rpartition(")")
    return f"{head.rstrip()}, \n\t{ASSIGNEE_FK_SQL}\n){tail}"


def _without_assignee_fk(table_sql: str) -> str:
    return table_sql.replace(f", \n\t{ASSIGNEE_FK_SQL}", "")


def _add_assignee() -> None:
    op.add_column("followup_requests", sa.Column("assignee_id", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        rebuild_on_sqlite("followup_requests", _with_assignee_fk)
    else:
        op.create_foreign_key(
            ASSIGNEE_FK,
            "followup_requests",
            "staff_users",
            ["assignee_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(
        "ix_followup_requests_tenant_assignee_created",
        "followup_requests",
        ["tenant_id", "assignee_id", "created_at", "id"],
    )


def _drop_assignee() -> None:
    op.drop_index("ix_followup_requests_tenant_assignee_created", table_name="followup_requests")
    if op.get_bind().dialect.name == "sqlite":
        rebuild_on_sqlite("followup_requests", _without_assignee_fk)
        # SQLite 3.35+ drops a column in place once no constraint names it.
        op.execute("ALTER TABLE followup_requests DROP COLUMN assignee_id")
    else:
        op.drop_constraint(ASSIGNEE_FK, "followup_requests", type_="foreignkey")
        op.drop_column("followup_requests", "assignee_id")


def upgrade():
    op.create_table(
        "followup_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("from_value", sa.String(length=200), nullable=True),
        sa.Column("to_value", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f("ck_followup_activity_kind_allowed")),
        sa.ForeignKeyConstraint(
            ["followup_id"],
            ["followup_requests.id"],
            name=op.f("fk_followup_activity_followup_id_followup_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_followup_activity_staff_user_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_followup_activity_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_activity")),
    )
    op.create_index(
        "ix_followup_activity_followup_created",
        "followup_activity",
        ["followup_id", "created_at", "id"],
    )
    op.create_index(op.f("ix_followup_activity_tenant_id"), "followup_activity", ["tenant_id"])
    _add_assignee()
    op.execute(
        sa.text(
            "INSERT INTO followup_activity "
            "(tenant_id, followup_id, kind, actor_label, text, version, created_at) "
            "SELECT tenant_id, id, 'note', :author, notes, 0, created_at "
            "FROM followup_requests WHERE notes <> ''"
        ).bindparams(author=EARLIER_NOTES_AUTHOR)
    )


def _appended_notes(conn) -> None:
    """The notes written in timelines (not the ones that came from the column), added to
    the column after what it held, oldest first: walking down loses no note."""
    rows = conn.execute(
        sa.text(
            "SELECT a.followup_id, a.actor_label, a.text FROM followup_activity a "
            "WHERE a.kind = 'note' AND a.deleted_at IS NULL AND a.actor_label <> :author "
            "ORDER BY a.followup_id, a.created_at, a.id"
        ).bindparams(author=EARLIER_NOTES_AUTHOR)
    ).all()
    for followup_id, author, text in rows:
        conn.execute(
            sa.text(
                "UPDATE followup_requests SET notes = CASE WHEN notes = '' THEN :entry "
                "ELSE notes || :separator || :entry END WHERE id = :id"
            ).bindparams(entry=f"{author}: {text}", separator="\n\n", id=followup_id)
        )


def downgrade():
    _appended_notes(op.get_bind())
    _drop_assignee()
    op.drop_index(op.f("ix_followup_activity_tenant_id"), table_name="followup_activity")
    op.drop_index("ix_followup_activity_followup_created", table_name="followup_activity")
    op.drop_table("followup_activity")
