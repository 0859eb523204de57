"""Chats can be told apart: each has a short random code, shown as "Visitor 4F2A", and a
widget chat keeps where it started (page, referrer, browser language, device class).
Existing chats get a code each; nameless ones lose the "Website visitor" title, so
their label shows instead.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 10:00:00.000000

"""

import secrets
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# As followup.models.chat has them, copied: a migration must not change with the app.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 4
TRIES_FOR_A_FREE_CODE = 10
BATCH = 1000
OLD_TITLE = "Website visitor"

chats = sa.table(
    "chats",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.Integer),
    sa.column("channel", sa.String),
    sa.column("title", sa.String),
    sa.column("visitor_code", sa.String),
)


def _random_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _code_for(taken: set[str]) -> str:
    """A code no other chat of the tenant has, while one is easy to find."""
    code = _random_code()
    for _ in range(TRIES_FOR_A_FREE_CODE):
        if code not in taken:
            break
        code = _random_code()
    taken.add(code)
    return code


def _give_every_chat_a_code() -> None:
    conn = op.get_bind()
    taken = defaultdict(set)  # codes by tenant
    set_code = (
        chats.update()
        .where(chats.c.id == sa.bindparam("chat_id"))
        .values(visitor_code=sa.bindparam("code"))
    )
    rows = conn.execute(sa.select(chats.c.id, chats.c.tenant_id).order_by(chats.c.id)).all()
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        codes = [{"chat_id": id_, "code": _code_for(taken[tenant])} for id_, tenant in batch]
        conn.execute(set_code, codes)


def upgrade():
    with op.batch_alter_table("chats") as batch_op:
        batch_op.add_column(sa.Column("visitor_code", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("page_url", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("referrer", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column("device", sa.String(length=8), nullable=True))
    _give_every_chat_a_code()
    with op.batch_alter_table("chats") as batch_op:
        batch_op.alter_column("visitor_code", existing_type=sa.String(length=8), nullable=False)
    op.execute(
        chats.update()
        .where(chats.c.channel == "web", chats.c.title == OLD_TITLE)
        .values(title="")
    )


def downgrade():
    op.execute(
        chats.update().where(chats.c.channel == "web", chats.c.title == "").values(title=OLD_TITLE)
    )
    with op.batch_alter_table("chats") as batch_op:
        batch_op.drop_column("device")
        batch_op.drop_column("language")
        batch_op.drop_column("referrer")
        batch_op.drop_column("page_url")
        batch_op.drop_column("visitor_code")
