"""Every inbound text waits for its answer in the database (sms_answers), and a texted
message keeps the SID of each part Twilio accepted (messages.sms_sids).

A text still unanswered at the upgrade (its chat's latest conversation message is the
customer's) gets a waiting row, due at once, so the sweep answers it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 10:00:00.000000

"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

STATES = "'waiting', 'answering', 'answered', 'not_needed', 'gave_up'"

# The last text of each SMS chat whose latest conversation message is the customer's,
# sent in the last day: an older one is the team's to answer, not the AI's, this late.
UNANSWERED_TEXTS = sa.text(
    """
    INSERT INTO sms_answers (message_id, chat_id, state, attempts, due_at)
    SELECT m.id, m.chat_id, 'waiting', 0, :now
    FROM messages m JOIN chats c ON c.id = m.chat_id
    WHERE c.channel = 'sms' AND m.role = 'client' AND m.created_at >= :since
      AND m.id = (
        SELECT max(latest.id) FROM messages latest
        WHERE latest.chat_id = m.chat_id AND latest.role IN ('client', 'agent', 'staff')
      )
    """
).bindparams(
    sa.bindparam("now", type_=sa.DateTime()), sa.bindparam("since", type_=sa.DateTime())
)


def upgrade():
    op.create_table(
        "sms_answers",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(f"state IN ({STATES})", name=op.f("ck_sms_answers_state_allowed")),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_sms_answers_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_sms_answers_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_sms_answers")),
    )
    with op.batch_alter_table("sms_answers") as batch_op:
        batch_op.create_index("ix_sms_answers_chat_id_state", ["chat_id", "state"], unique=False)
        batch_op.create_index("ix_sms_answers_due_at", ["due_at"], unique=False)
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("sms_sids", sa.JSON(), nullable=True))
    # Stored as naive UTC, as every time of the app (models.base.UTCDateTime).
    now = datetime.now(UTC).replace(tzinfo=None)
    op.get_bind().execute(UNANSWERED_TEXTS, {"now": now, "since": now - timedelta(days=1)})


def downgrade():
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("sms_sids")
    with op.batch_alter_table("sms_answers") as batch_op:
        batch_op.drop_index("ix_sms_answers_due_at")
        batch_op.drop_index("ix_sms_answers_chat_id_state")
    op.drop_table("sms_answers")
