"""The chat's capture progress is named for what it holds now: a follow-up captured
in conversation, by voice or by SMS.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 13:05:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    # A rename in place on both databases (SQLite since 3.25).
    op.alter_column("chats", "voice_capture", new_column_name="followup_capture")


def downgrade():
    op.alter_column("chats", "followup_capture", new_column_name="voice_capture")
