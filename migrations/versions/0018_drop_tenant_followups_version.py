"""Tenants no longer count the changes of their follow-up requests: the admin list,
whose cache key it was, is queried and rendered on each request.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    # SQLite drops a column by copying the table: batch mode does that.
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.drop_column("followups_version")


def downgrade():
    # Counting starts again from 0: a cache keyed by it starts empty with the processes.
    op.add_column(
        "tenants",
        sa.Column("followups_version", sa.BigInteger(), server_default="0", nullable=False),
    )
