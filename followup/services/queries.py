"""Small query-building helpers shared by the services."""

from sqlalchemy import select

from followup.errors import NotFound
from followup.extensions import db

LIKE_ESCAPE = "\\"
# Ids are 32-bit in the schema: a larger one cannot exist, and the databases
# refuse to compare it (PostgreSQL) or even bind it (SQLite).
MAX_ID = 2**31 - 1


def tenant_row(model, tenant_id: int, row_id: int, not_found: str):
    """The tenant's row of `model` with this id; NotFound for any other id or tenant."""
    row = None
    if 0 < row_id <= MAX_ID:
        row = db.session.scalar(
            select(model).where(model.id == row_id, model.tenant_id == tenant_id)
        )
    if row is None:
        raise NotFound(not_found)
    return row


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` literally (%, _ and \\ escaped), lowercased."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
