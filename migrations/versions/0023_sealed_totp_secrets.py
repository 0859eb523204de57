"""Members' TOTP secrets are kept sealed (encrypted with a key derived from SECRET_KEY,
followup/sealing.py), which needs a longer column; staff roles, statuses and link
purposes get the checks every other enumerated column has.

The secrets stored in clear before are sealed by the running app, the next time each
member signs in with a code (services/two_factor.py): only the app's own SECRET_KEY
must open them, and a migration run with other settings would seal them under the
wrong one. Walking down opens those the app sealed; any it cannot open are removed
(that member sets up their app again).

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

CHECKS = {
    "staff_users": {
        "role_allowed": "role IN ('owner', 'admin', 'agent')",
        "status_allowed": "status IN ('invited', 'active', 'deactivated')",
    },
    "staff_tokens": {"purpose_allowed": "purpose IN ('invitation', 'password_reset', 'email_change')"},
}


def upgrade():
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=64), type_=sa.String(length=255)
        )
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table) as batch_op:
            for name, condition in checks.items():
                batch_op.create_check_constraint(name, condition)


def _opened(secret: str) -> str | None:
    try:
        return sealing.unseal(secret, sealing.TOTP_SECRET)
    except sealing.Unreadable:
        return secret if len(secret) <= 64 else None  # still in clear, or lost


def downgrade():
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, totp_secret FROM staff_users WHERE totp_secret IS NOT NULL")
    ).all()
    for member_id, secret in rows:
        conn.execute(
            sa.text("UPDATE staff_users SET totp_secret = :secret WHERE id = :id"),
            {"secret": _opened(secret), "id": member_id},
        )
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table) as batch_op:
            for name in checks:
                batch_op.drop_constraint(batch_op.f(f"ck_{table}_{name}"), type_="check")
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
