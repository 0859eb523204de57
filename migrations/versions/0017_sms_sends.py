"""Every outgoing message of an SMS chat keeps its SMS delivery (sms_sends): what is
still to send and when, in the database rather than in Redis.

Messages already in the database are marked sent: an upgrade texts nothing again.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 17:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

STATES = "'to_send', 'sending', 'sent', 'undeliverable'"


def upgrade():
    op.create_table(
        "sms_sends",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(f"state IN ({STATES})", name=op.f("ck_sms_sends_state_allowed")),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_sms_sends_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_sms_sends")),
    )
    with op.batch_alter_table("sms_sends") as batch_op:
        batch_op.create_index("ix_sms_sends_due_at", ["due_at"], unique=False)
    op.execute(
        "INSERT INTO sms_sends (message_id, state, attempts, due_at) "
        "SELECT messages.id, 'sent', 0, NULL FROM messages "
        "JOIN chats ON chats.id = messages.chat_id "
        "WHERE chats.channel = 'sms' AND messages.role IN ('agent', 'staff')"
    )


def downgrade():
    with op.batch_alter_table("sms_sends") as batch_op:
        batch_op.drop_index("ix_sms_sends_due_at")
    op.drop_table("sms_sends")
