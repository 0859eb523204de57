"""The reports' daily rollups (report_days, report_counts) and the marks of follow-ups
changed after their day was counted (report_marks). They start empty: the workers count
the recent days, and a report counts any day of its period not counted yet. An index
finds the pending requests by due time (the backlog, those not due yet).

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 13:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

METRICS = (
    "requests, contacted, within_promise, pending, contact_minutes, handoffs, reminders, "
    "replied, chains_entered, exhausted, opted_out, conversations, customer_messages, "
    "model_failures, input_tokens, output_tokens"
)


def upgrade():
    op.create_table(
        "report_days",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "day"),
    )
    allowed = ", ".join(f"'{m.strip()}'" for m in METRICS.split(","))
    op.create_table(
        "report_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(f"metric IN ({allowed})", name="metric_allowed"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_report_counts_tenant_day",
        "report_counts",
        ["tenant_id", "day"],
        postgresql_include=["metric", "agent_id", "assignee_id", "key", "value"],
    )
    op.create_table(
        "report_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_report_marks_tenant_id", "report_marks", ["tenant_id"])
    op.create_index(
        "ix_followup_requests_tenant_status_due",
        "followup_requests",
        ["tenant_id", "status", "due_at"],
        postgresql_include=["contacted_at"],
    )


def downgrade():
    op.drop_index("ix_followup_requests_tenant_status_due", table_name="followup_requests")
    op.drop_index("ix_report_marks_tenant_id", table_name="report_marks")
    op.drop_table("report_marks")
    op.drop_index("ix_report_counts_tenant_day", table_name="report_counts")
    op.drop_table("report_counts")
    op.drop_table("report_days")
