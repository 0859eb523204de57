"""The business chooses where the widget's voice mode turns speech into text and back:
the browser only, our server only (the model server's audio endpoints), or automatic.

Revision ID: 0029
Revises: 0026
Create Date: 2026-12-07 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0029"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.add_column(
            sa.Column(
                "voice_mode", sa.String(length=16), server_default="automatic", nullable=False
            )
        )
        batch_op.create_check_constraint(
            "voice_mode_allowed", "voice_mode IN ('automatic', 'browser', 'server')"
        )


def downgrade():
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_tenants_voice_mode_allowed"), type_="check")
        batch_op.drop_column("voice_mode")
