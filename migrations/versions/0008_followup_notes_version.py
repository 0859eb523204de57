"""Follow-up requests count the saves of their staff notes, so a save based on notes
someone else has changed since is refused instead of overwriting them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    # A constant default: PostgreSQL adds it without rewriting the table, SQLite in place.
    op.add_column(
        "followup_requests",
        sa.Column("notes_version", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade():
    # Not a batch: SQLite's copy of the table would write its generated search_text
    # column. SQLite 3.35+ drops a plain column in place.
    op.drop_column("followup_requests", "notes_version")
