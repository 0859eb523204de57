"""One AI answer per client message: the answer names the message it answers (unique),
and the client message records when a stream took the turn of answering it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("reply_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("answer_claimed_at", sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_messages_reply_to_id"), ["reply_to_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_reply_to_id_messages"),
            "messages",
            ["reply_to_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_messages_reply_to_id_messages"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_messages_reply_to_id"), type_="unique")
        batch_op.drop_column("answer_claimed_at")
        batch_op.drop_column("reply_to_id")
