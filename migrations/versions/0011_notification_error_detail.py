"""Notifications keep a failure in staff words beside the provider's technical text,
and can be saved to a file (no MAIL_SERVER) instead of sent.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STATES = "'pending', 'sending', 'sent', 'failed'"
STATES_WITH_FILE = "'pending', 'sending', 'sent', 'saved_to_file', 'failed'"


def _allow_states(batch_op, states: str) -> None:
    batch_op.drop_constraint(batch_op.f("ck_notifications_state_allowed"), type_="check")
    batch_op.create_check_constraint("state_allowed", f"state IN ({states})")


def upgrade():
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.add_column(sa.Column("last_error_detail", sa.Text(), nullable=True))
        _allow_states(batch_op, STATES_WITH_FILE)


# Before 0011 an email was always sent: one that was only saved to a file must not
# look delivered, so it becomes a failure that says why.
SAVED_NOT_SENT = "Saved to a file, not sent: no mail server was configured."


def downgrade():
    op.execute(
        sa.text(
            "UPDATE notifications SET state = 'failed', last_error = :saved_not_sent "
            "WHERE state = 'saved_to_file'"
        ).bindparams(saved_not_sent=SAVED_NOT_SENT)
    )
    with op.batch_alter_table("notifications") as batch_op:
        _allow_states(batch_op, STATES)
        batch_op.drop_column("last_error_detail")
