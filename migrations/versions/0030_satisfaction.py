"""Customer satisfaction: "How did we do?" when a request is resolved (a tenant setting,
on by default), sent through the outbox (a new kind, and SMS to a customer who gave
only a phone), and the customers' ratings, one per request.

Requests resolved before the upgrade are not asked (no storm of old news).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "'new_request', 'staff_invitation', 'password_reset', 'email_change', "
    "'assigned', 'at_risk', 'overdue'"
)
KINDS = f"{OLD_KINDS}, 'satisfaction'"
OLD_CHANNELS = "'staff_email', 'staff_sms', 'customer_email'"
CHANNELS = f"{OLD_CHANNELS}, 'customer_sms'"
NOT_ASSIGNED = sa.text("kind <> 'assigned'")


def _allow_in_notifications(kinds: str, channels: str) -> None:
    # The partial unique index is dropped and made again around the batch: SQLite's
    # table copy would not keep its WHERE.
    op.drop_index("uq_notifications_followup_channel_kind", table_name="notifications")
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_notifications_kind_allowed"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_notifications_channel_allowed"), type_="check")
        batch_op.create_check_constraint("kind_allowed", f"kind IN ({kinds})")
        batch_op.create_check_constraint("channel_allowed", f"channel IN ({channels})")
    op.create_index(
        "uq_notifications_followup_channel_kind",
        "notifications",
        ["followup_id", "channel", "kind"],
        unique=True,
        sqlite_where=NOT_ASSIGNED,
        postgresql_where=NOT_ASSIGNED,
    )


def upgrade():
    op.create_table(
        "satisfaction_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "score BETWEEN 1 AND 5", name=op.f("ck_satisfaction_ratings_score_range")
        ),
        sa.ForeignKeyConstraint(
            ["followup_id"],
            ["followup_requests.id"],
            name=op.f("fk_satisfaction_ratings_followup_id_followup_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_satisfaction_ratings_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satisfaction_ratings")),
        sa.UniqueConstraint("followup_id", name=op.f("uq_satisfaction_ratings_followup_id")),
    )
    op.create_index(
        "ix_satisfaction_ratings_tenant_created",
        "satisfaction_ratings",
        ["tenant_id", "created_at"],
    )
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.add_column(
            sa.Column(
                "satisfaction_survey_enabled",
                sa.Boolean(),
                server_default=sa.true(),
                nullable=False,
            )
        )
    _allow_in_notifications(KINDS, CHANNELS)


def downgrade():
    op.execute(
        sa.text("DELETE FROM notifications WHERE kind = 'satisfaction' OR channel = 'customer_sms'")
    )
    _allow_in_notifications(OLD_KINDS, OLD_CHANNELS)
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.drop_column("satisfaction_survey_enabled")
    op.drop_index("ix_satisfaction_ratings_tenant_created", table_name="satisfaction_ratings")
    op.drop_table("satisfaction_ratings")
