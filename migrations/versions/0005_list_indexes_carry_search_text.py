"""The admin list's indexes carry search_text (PostgreSQL): a search filters in the
index alone until it has a page of ids.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 13:20:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

LIST_INDEXES = {
    "ix_followup_requests_tenant_created": ["tenant_id", "created_at", "id"],
    "ix_followup_requests_tenant_status_created": ["tenant_id", "status", "created_at", "id"],
}


def _recreate_list_indexes(include: list[str]) -> None:
    # INCLUDE is PostgreSQL's; SQLite keeps the plain indexes.
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, columns in LIST_INDEXES.items():
        op.drop_index(name, table_name="followup_requests")
        op.create_index(name, "followup_requests", columns, postgresql_include=include)


def upgrade():
    _recreate_list_indexes(["search_text"])


def downgrade():
    _recreate_list_indexes([])
