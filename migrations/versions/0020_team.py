"""The team: roles owner, admin and agent ("staff" members become admins, keeping the
settings they could change); members are invited, active or deactivated, and may
sign in with a second factor (TOTP, recovery codes), which an owner may require; one-time
links for staff (invitations, password resets, email changes); the outbox also carries
messages to staff members (`kind`), besides those about a follow-up request.

Revision ID: 0020_team
Revises: 0019
Create Date: 2026-12-07 00:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import followup.models.base

# revision identifiers, used by Alembic.
revision = "0020_team"
down_revision = "0019"
branch_labels = None
depends_on = None

KINDS = "'new_request', 'staff_invitation', 'password_reset', 'email_change'"


def upgrade():
    op.execute(sa.text("UPDATE staff_users SET role = 'admin' WHERE role = 'staff'"))
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="active", nullable=False)
        )
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.add_column(
            sa.Column("require_two_factor", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", followup.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_recovery_codes_staff_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_recovery_codes")),
    )
    with op.batch_alter_table("staff_recovery_codes") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_recovery_codes_staff_user_id"), ["staff_user_id"]
        )
    op.create_table(
        "staff_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("new_email", sa.String(length=320), nullable=True),
        sa.Column("expires_at", followup.models.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", followup.models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", followup.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_tokens_staff_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_staff_tokens_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_tokens_created_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_tokens_token_hash")),
    )
    with op.batch_alter_table("staff_tokens") as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_tokens_tenant_id"), ["tenant_id"])
        batch_op.create_index(batch_op.f("ix_staff_tokens_staff_user_id"), ["staff_user_id"])
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=32), server_default="new_request", nullable=False)
        )
        batch_op.add_column(sa.Column("staff_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("staff_token_id", sa.Integer(), nullable=True))
        batch_op.alter_column("followup_id", existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint(
            batch_op.f("uq_notifications_followup_id_channel"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_notifications_followup_id_channel_kind"),
            ["followup_id", "channel", "kind"],
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_notifications_staff_token_id"), ["staff_token_id"]
        )
        batch_op.create_check_constraint("kind_allowed", f"kind IN ({KINDS})")
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_staff_user_id_staff_users"),
            "staff_users",
            ["staff_user_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_staff_token_id_staff_tokens"),
            "staff_tokens",
            ["staff_token_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_notifications_staff_user_id"), ["staff_user_id"])


def downgrade():
    # Messages to staff have no place in the older outbox.
    op.execute(sa.text("DELETE FROM notifications WHERE kind <> 'new_request'"))
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_staff_user_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_notifications_staff_token_id_staff_tokens"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_notifications_staff_user_id_staff_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("ck_notifications_kind_allowed"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_notifications_staff_token_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("uq_notifications_followup_id_channel_kind"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_notifications_followup_id_channel"), ["followup_id", "channel"]
        )
        batch_op.alter_column("followup_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("staff_token_id")
        batch_op.drop_column("staff_user_id")
        batch_op.drop_column("kind")
    op.drop_table("staff_tokens")
    op.drop_table("staff_recovery_codes")
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.drop_column("require_two_factor")
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_secret")
        batch_op.drop_column("status")
    op.execute(sa.text("UPDATE staff_users SET role = 'staff' WHERE role IN ('admin', 'agent')"))
