"""Tenants count the changes of their follow-up requests: the key of the admin list's
cache.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 18:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    # A constant default: PostgreSQL adds it without rewriting the table, SQLite in place.
    op.add_column(
        "tenants",
        sa.Column("followups_version", sa.BigInteger(), server_default="0", nullable=False),
    )


def downgrade():
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.drop_column("followups_version")
