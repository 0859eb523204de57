"""Tenants remember where their widget was last loaded from and when ("Check the
snippet" on the Settings and System pages): nothing is known of the past, so both
start empty.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 05:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.add_column(sa.Column("widget_seen_origin", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("widget_seen_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.drop_column("widget_seen_at")
        batch_op.drop_column("widget_seen_origin")
