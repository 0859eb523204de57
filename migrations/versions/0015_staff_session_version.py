"""Staff members carry a session version: raising it ends every session they have.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 17:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    # A constant default: PostgreSQL adds it without rewriting the table, SQLite in place.
    op.add_column(
        "staff_users",
        sa.Column("session_version", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade():
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.drop_column("session_version")
