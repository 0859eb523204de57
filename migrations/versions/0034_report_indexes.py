"""Indexes for the reports at scale (bench/reports.py): a period's messages and
reminders, read from the index alone on PostgreSQL, and a chat's client messages by
time, for "did the customer write back within 24 h of the reminder".

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 10:05:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

MESSAGE_COLUMNS = ["chat_id", "role", "model", "model_failed", "prompt_tokens", "completion_tokens"]


def upgrade():
    op.create_index("ix_messages_chat_role_created", "messages", ["chat_id", "role", "created_at"])
    op.create_index(
        "ix_messages_created_at", "messages", ["created_at"], postgresql_include=MESSAGE_COLUMNS
    )
    op.create_index(
        "ix_reminder_sends_sent_at",
        "reminder_sends",
        ["sent_at"],
        postgresql_include=["chat_id", "step_id"],
    )


def downgrade():
    op.drop_index("ix_reminder_sends_sent_at", table_name="reminder_sends")
    op.drop_index("ix_messages_created_at", table_name="messages")
    op.drop_index("ix_messages_chat_role_created", table_name="messages")
