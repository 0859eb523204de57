"""Members' TOTP secrets are kept sealed (encrypted with a key derived from SECRET_KEY,
followup/sealing.py), no longer in clear: a copy of the database alone cannot make
their sign-in codes. Walking down opens them again.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 02:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

from followup import sealing

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def _rewrite_secrets(change) -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, totp_secret FROM staff_users WHERE totp_secret IS NOT NULL")
    ).all()
    for member_id, secret in rows:
        conn.execute(
            sa.text("UPDATE staff_users SET totp_secret = :secret WHERE id = :id"),
            {"secret": change(secret), "id": member_id},
        )


def upgrade():
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=64), type_=sa.String(length=255)
        )
    _rewrite_secrets(lambda secret: sealing.seal(secret, sealing.TOTP_SECRET))


def downgrade():
    _rewrite_secrets(lambda secret: sealing.unseal(secret, sealing.TOTP_SECRET))
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
