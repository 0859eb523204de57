"""Chats record why their reminder cycle ended: every step was sent (exhausted), or a
follow-up request was taken in the chat (handed off). It replaces `chain_exhausted`.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

chats = sa.table(
    "chats",
    sa.column("chain_ended", sa.String),
    sa.column("chain_exhausted", sa.Boolean),
)


def upgrade():
    op.add_column("chats", sa.Column("chain_ended", sa.String(length=16), nullable=True))
    op.execute(
        chats.update().where(chats.c.chain_exhausted.is_(True)).values(chain_ended="exhausted")
    )
    with op.batch_alter_table("chats") as batch_op:
        batch_op.drop_column("chain_exhausted")


def downgrade():
    op.add_column(
        "chats",
        sa.Column("chain_exhausted", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    # A handed-off cycle was not exhausted: its chat waits for the client, as before.
    op.execute(
        chats.update().where(chats.c.chain_ended == "exhausted").values(chain_exhausted=True)
    )
    with op.batch_alter_table("chats") as batch_op:
        batch_op.drop_column("chain_ended")
