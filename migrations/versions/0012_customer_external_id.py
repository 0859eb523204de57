"""A website's signed customer is keyed by its id, not by an unsigned email; login
links are bound to a code the asking chat shows; confirmations per address are counted.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UNKEYED = sa.text("external_id IS NULL")


def upgrade():
    with op.batch_alter_table("customers") as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_customers_tenant_id_email"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_customers_tenant_id_external_id"), ["tenant_id", "external_id"]
        )
    op.create_index(
        "ux_customers_tenant_email_unkeyed",
        "customers",
        ["tenant_id", "email"],
        unique=True,
        sqlite_where=UNKEYED,
        postgresql_where=UNKEYED,
    )
    with op.batch_alter_table("customer_login_tokens") as batch_op:
        batch_op.add_column(sa.Column("code_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("wrong_codes", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_index(
        "ix_notifications_tenant_recipient",
        "notifications",
        ["tenant_id", "recipient", "created_at"],
    )


def downgrade():
    op.drop_index("ix_notifications_tenant_recipient", table_name="notifications")
    with op.batch_alter_table("customer_login_tokens") as batch_op:
        batch_op.drop_column("wrong_codes")
        batch_op.drop_column("code_hash")
    # Website customers have no place in a table keyed by email alone, and their
    # requests and chats point at them: refuse rather than lose or merge them.
    keyed = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM customers WHERE external_id IS NOT NULL")
    )
    if keyed:
        raise RuntimeError(
            f"{keyed} customers are keyed by the website's id; 0011 cannot hold them."
        )
    op.drop_index("ux_customers_tenant_email_unkeyed", table_name="customers")
    with op.batch_alter_table("customers") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_customers_tenant_id_external_id"), type_="unique"
        )
        batch_op.drop_column("external_id")
        batch_op.create_unique_constraint(
            batch_op.f("uq_customers_tenant_id_email"), ["tenant_id", "email"]
        )
