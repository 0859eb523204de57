"""AI employees and auto follow-up: agents get working hours, channels and the
auto follow-up switch; steps; chats carry their reminder chain; reminders sent are
unique per (chat, cycle, step); messages point at the step that wrote them; the
Users page's index on customers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 10:47:18.560055

"""
import json

from alembic import op
import sqlalchemy as sa

ALWAYS_OPEN = json.dumps({day: [["00:00", "24:00"]] for day in
                          ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('auto_followup_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('delay_minutes', sa.Integer(), nullable=False),
    sa.Column('instruction', sa.Text(), nullable=False),
    sa.Column('run_once_per_chat', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('delay_minutes >= 1', name=op.f('ck_auto_followup_steps_delay_at_least_a_minute')),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_auto_followup_steps_agent_id_agents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auto_followup_steps'))
    )
    with op.batch_alter_table('auto_followup_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auto_followup_steps_agent_id'), ['agent_id'], unique=False)

    op.create_table('reminder_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['chat_id'], ['chats.id'], name=op.f('fk_reminder_sends_chat_id_chats'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_reminder_sends_message_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['step_id'], ['auto_followup_steps.id'], name=op.f('fk_reminder_sends_step_id_auto_followup_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_sends')),
    sa.UniqueConstraint('chat_id', 'cycle', 'step_id', name=op.f('uq_reminder_sends_chat_id_cycle_step_id'))
    )
    with op.batch_alter_table('reminder_sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_sends_step_id'), ['step_id'], unique=False)

    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False))
        # Filled in below, then required (JSON columns take no portable server default).
        batch_op.add_column(sa.Column('working_hours', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('special_dates', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('serves_web_widget', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('sms_number', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('autofollowup_enabled', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_agents_sms_number'), ['sms_number'])

    with op.batch_alter_table('chats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('chain_cycle', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('chain_step_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('chain_due_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('chain_exhausted', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('autofollowup_paused', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('opted_out', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('last_client_message_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_staff_reply_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_chats_agent_phone', ['agent_id', 'phone'], unique=False)
        batch_op.create_index('ix_chats_chain_due_at', ['chain_due_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_chats_chain_step_id_auto_followup_steps'), 'auto_followup_steps', ['chain_step_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_tenant_created', ['tenant_id', 'created_at', 'id'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_step_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_messages_reminder_step_id_auto_followup_steps'), 'auto_followup_steps', ['reminder_step_id'], ['id'], ondelete='SET NULL')

    agents = sa.table("agents", sa.column("working_hours", sa.JSON),
                      sa.column("special_dates", sa.JSON))
    op.execute(agents.update().values(working_hours=json.loads(ALWAYS_OPEN), special_dates={}))
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.alter_column('working_hours', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('special_dates', existing_type=sa.JSON(), nullable=False)
    # Until now the tenant's first agent answered the widget: keep it that way.
    op.execute(
        "UPDATE agents SET serves_web_widget = TRUE WHERE id IN "
        "(SELECT MIN(id) FROM agents GROUP BY tenant_id)"
    )


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_messages_reminder_step_id_auto_followup_steps'), type_='foreignkey')
        batch_op.drop_column('reminder_step_id')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_tenant_created')

    with op.batch_alter_table('chats', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_chats_chain_step_id_auto_followup_steps'), type_='foreignkey')
        batch_op.drop_index('ix_chats_chain_due_at')
        batch_op.drop_index('ix_chats_agent_phone')
        batch_op.drop_column('last_staff_reply_at')
        batch_op.drop_column('last_client_message_at')
        batch_op.drop_column('opted_out')
        batch_op.drop_column('autofollowup_paused')
        batch_op.drop_column('chain_exhausted')
        batch_op.drop_column('chain_due_at')
        batch_op.drop_column('chain_step_id')
        batch_op.drop_column('chain_cycle')
        batch_op.drop_column('phone')

    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_agents_sms_number'), type_='unique')
        batch_op.drop_column('autofollowup_enabled')
        batch_op.drop_column('sms_number')
        batch_op.drop_column('serves_web_widget')
        batch_op.drop_column('special_dates')
        batch_op.drop_column('working_hours')
        batch_op.drop_column('timezone')

    with op.batch_alter_table('reminder_sends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_sends_step_id'))

    op.drop_table('reminder_sends')
    with op.batch_alter_table('auto_followup_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auto_followup_steps_agent_id'))

    op.drop_table('auto_followup_steps')
