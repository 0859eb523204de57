"""The visitor's language: a business's default for visitors (English until set), and
the language each chat was served in (none yet: English).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.add_column(
            sa.Column("visitor_locale", sa.String(length=5), server_default="en", nullable=False)
        )
    with op.batch_alter_table("chats") as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=5), nullable=True))


def downgrade():
    with op.batch_alter_table("chats") as batch_op:
        batch_op.drop_column("locale")
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.drop_column("visitor_locale")
