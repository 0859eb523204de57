"""Reports: a model failure that fell back to the form is marked on its message, an
opt-out keeps its time, and each business may set a price per model for the AI cost.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(
            sa.Column("model_failed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("chats") as batch_op:
        batch_op.add_column(sa.Column("opted_out_at", sa.DateTime(), nullable=True))
    op.create_table(
        "model_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("input_per_million", sa.Numeric(12, 4), nullable=True),
        sa.Column("output_per_million", sa.Numeric(12, 4), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "model"),
    )


def downgrade():
    op.drop_table("model_prices")
    with op.batch_alter_table("chats") as batch_op:
        batch_op.drop_column("opted_out_at")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("model_failed")
