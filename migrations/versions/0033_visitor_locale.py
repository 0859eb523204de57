"""The visitor's language: a business's default for visitors (English until set), and
the language each chat is served in (every chat so far was served in English). Both hold
one of the languages we serve.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


LANGUAGES = "'en', 'de', 'es', 'fr', 'ru'"  # followup.locales.Language, as of this revision


def upgrade():
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.add_column(
            sa.Column("visitor_locale", sa.String(length=5), server_default="en", nullable=False)
        )
        batch_op.create_check_constraint("visitor_locale_allowed", f"visitor_locale IN ({LANGUAGES})")
    with op.batch_alter_table("chats") as batch_op:
        batch_op.add_column(
            sa.Column("locale", sa.String(length=5), server_default="en", nullable=False)
        )
        batch_op.create_check_constraint("locale_allowed", f"locale IN ({LANGUAGES})")


def downgrade():
    with op.batch_alter_table("chats") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_chats_locale_allowed"), type_="check")
        batch_op.drop_column("locale")
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_tenants_visitor_locale_allowed"), type_="check")
        batch_op.drop_column("visitor_locale")
