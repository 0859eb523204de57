"""The widget's look per business (Settings → Website widget → Look): accent colour,
header picture, launcher side, greeting and offline message. No business has one yet:
each keeps the default look.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import followup.models.base

# revision identifiers, used by Alembic.
revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "widget_looks",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("accent", sa.String(length=7), nullable=False),
        sa.Column("position", sa.String(length=8), nullable=False),
        sa.Column("greeting", sa.String(length=500), nullable=True),
        sa.Column("offline_message", sa.String(length=300), nullable=True),
        sa.Column("avatar", sa.LargeBinary(), nullable=True),
        sa.Column("avatar_type", sa.String(length=16), nullable=True),
        sa.Column("avatar_digest", sa.String(length=16), nullable=True),
        sa.Column("updated_at", followup.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("position IN ('right', 'left')", name=op.f("ck_widget_looks_position_allowed")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_widget_looks_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_widget_looks")),
    )


def downgrade():
    op.drop_table("widget_looks")
