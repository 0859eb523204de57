"""The widget's verified identity: the previous widget secret kept for a grace period
after a rotation, and the owner's rule that only signed-in visitors may chat (with the
website's sign-in page the widget points the others to).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 05:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

import followup.models.base

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.add_column(sa.Column("previous_widget_secret", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column("widget_secret_rotated_at", followup.models.base.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "require_verified_identity",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("sign_in_url", sa.String(length=2000), nullable=True))


def downgrade():
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.drop_column("sign_in_url")
        batch_op.drop_column("require_verified_identity")
        batch_op.drop_column("widget_secret_rotated_at")
        batch_op.drop_column("previous_widget_secret")
