"""Team members may give their own mobile number (Account): the System page's test SMS
goes to it. Nobody has one yet.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 06:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.drop_column("phone")
