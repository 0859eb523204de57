"""Initial schema: tenants, staff users, API tokens, customers, follow-up requests
and their status history, AI agents, chats, messages, customer login links.

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 10:01:36.670686

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('tenants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('contact_email', sa.String(length=320), nullable=True),
    sa.Column('contact_phone', sa.String(length=32), nullable=True),
    sa.Column('sms_enabled', sa.Boolean(), nullable=False),
    sa.Column('widget_public_key', sa.String(length=64), nullable=False),
    sa.Column('widget_secret', sa.String(length=128), nullable=False),
    sa.Column('allowed_origins', sa.JSON(), nullable=False),
    sa.Column('followups_enabled', sa.Boolean(), nullable=False),
    sa.Column('response_time_hours', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('response_time_hours BETWEEN 1 AND 168', name=op.f('ck_tenants_response_time_hours_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenants_slug')),
    sa.UniqueConstraint('widget_public_key', name=op.f('uq_tenants_widget_public_key'))
    )
    op.create_table('agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=False),
    sa.Column('tone', sa.String(length=200), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_agents_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents'))
    )
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agents_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_api_tokens_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_customers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('tenant_id', 'email', name=op.f('uq_customers_tenant_id_email'))
    )
    op.create_table('staff_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_staff_users_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_users')),
    sa.UniqueConstraint('email', name=op.f('uq_staff_users_email'))
    )
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_users_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('chats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('visitor', sa.JSON(), nullable=False),
    sa.Column('voice_capture', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_message_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_chats_agent_id_agents')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_chats_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_chats_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chats'))
    )
    with op.batch_alter_table('chats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chats_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chats_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_chats_tenant_last_message', ['tenant_id', 'last_message_at'], unique=False)

    op.create_table('customer_login_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.Integer(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['chat_id'], ['chats.id'], name=op.f('fk_customer_login_tokens_chat_id_chats'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_login_tokens_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_login_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_customer_login_tokens_token_hash'))
    )
    with op.batch_alter_table('customer_login_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_login_tokens_customer_id'), ['customer_id'], unique=False)

    op.create_table('followup_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('chat_id', sa.Integer(), nullable=True),
    sa.Column('identity_verified', sa.Boolean(), nullable=False),
    sa.Column('search_text', sa.Text(), sa.Computed("lower(name || ' ' || email || ' ' || reason)", persisted=True), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('contacted_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("priority IN ('normal', 'high')", name=op.f('ck_followup_requests_priority_allowed')),
    sa.CheckConstraint("source IN ('text', 'voice', 'api')", name=op.f('ck_followup_requests_source_allowed')),
    sa.CheckConstraint("status IN ('pending', 'contacted', 'resolved', 'cancelled')", name=op.f('ck_followup_requests_status_allowed')),
    sa.ForeignKeyConstraint(['chat_id'], ['chats.id'], name=op.f('fk_followup_requests_chat_id_chats')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_followup_requests_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_followup_requests_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_requests'))
    )
    with op.batch_alter_table('followup_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_requests_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_requests_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_followup_requests_tenant_created', ['tenant_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_followup_requests_tenant_status_created', ['tenant_id', 'status', 'created_at', 'id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Substring search (LIKE '%term%') on PostgreSQL; see FollowUpRequest.
        op.create_index(
            'ix_followup_requests_search_trgm', 'followup_requests', ['search_text'],
            postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'},
        )

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('action', sa.JSON(), nullable=True),
    sa.Column('model', sa.String(length=100), nullable=True),
    sa.Column('prompt_tokens', sa.Integer(), nullable=True),
    sa.Column('completion_tokens', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['chat_id'], ['chats.id'], name=op.f('fk_messages_chat_id_chats'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_chat_id_id', ['chat_id', 'id'], unique=False)

    op.create_table('followup_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=False),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['followup_id'], ['followup_requests.id'], name=op.f('fk_followup_status_changes_followup_id_followup_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_followup_status_changes_staff_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_status_changes'))
    )
    with op.batch_alter_table('followup_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_status_changes_followup_id'), ['followup_id'], unique=False)



def downgrade():
    with op.batch_alter_table('followup_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followup_status_changes_followup_id'))

    op.drop_table('followup_status_changes')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_chat_id_id')

    op.drop_table('messages')
    with op.batch_alter_table('followup_requests', schema=None) as batch_op:
        if op.get_bind().dialect.name == "postgresql":
            batch_op.drop_index('ix_followup_requests_search_trgm')
        batch_op.drop_index('ix_followup_requests_tenant_status_created')
        batch_op.drop_index('ix_followup_requests_tenant_created')
        batch_op.drop_index(batch_op.f('ix_followup_requests_customer_id'))
        batch_op.drop_index(batch_op.f('ix_followup_requests_chat_id'))

    op.drop_table('followup_requests')
    with op.batch_alter_table('customer_login_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_login_tokens_customer_id'))

    op.drop_table('customer_login_tokens')
    with op.batch_alter_table('chats', schema=None) as batch_op:
        batch_op.drop_index('ix_chats_tenant_last_message')
        batch_op.drop_index(batch_op.f('ix_chats_customer_id'))
        batch_op.drop_index(batch_op.f('ix_chats_agent_id'))

    op.drop_table('chats')
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_users_tenant_id'))

    op.drop_table('staff_users')
    op.drop_table('customers')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_tenant_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agents_tenant_id'))

    op.drop_table('agents')
    op.drop_table('tenants')
