"""The auto follow-up dashboard's index: one tenant's active chains in due order.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 12:34:30.993175

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_chats_tenant_chain_due_at', 'chats', ['tenant_id', 'chain_due_at', 'id'], unique=False
    )


def downgrade():
    op.drop_index('ix_chats_tenant_chain_due_at', table_name='chats')
