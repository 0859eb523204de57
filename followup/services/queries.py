"""Small query-building helpers shared by the services."""

import re
from datetime import datetime, timedelta

from sqlalchemy import Select, Update, bindparam, event, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from followup.clock import LAST_MICROS, from_micros, to_micros, utcnow
from followup.errors import NotFound
from followup.extensions import db
from followup.locales import staff_gettext
from followup.services.validation import whole_number

LIKE_ESCAPE = "\\"
# Ids are 32-bit in the schema: a larger one cannot exist, and the databases
# refuse to compare it (PostgreSQL) or even bind it (SQLite).
MAX_ID = 2**31 - 1
_MICROS = re.compile(r"[0-9]{1,18}")


def tenant_row(model, tenant_id: int, row_id: int, not_found: str, *options):
    """The tenant's row of `model` with this id; NotFound for any other id or tenant.
    A row this transaction has read already is taken from the session, without a
    query (a view and the service it calls both look the row up). `options`: loader
    options for a query, e.g. relationships to read with the row. `not_found`: the
    message of the NotFound, a marked text (`staff_text`)."""
    if not 0 < row_id <= MAX_ID:
        raise NotFound(staff_gettext(not_found))
    row = _read_already(model, tenant_id, row_id)
    if row is None:
        statement = select(model).options(*options)
        row = db.session.scalar(statement.where(model.id == row_id, model.tenant_id == tenant_id))
    if row is None:
        raise NotFound(staff_gettext(not_found))
    return row


def _read_already(model, tenant_id: int, row_id: int):
    row = db.session.identity_map.get(db.session.identity_key(model, row_id))
    if row is None or inspect(row).expired:  # expired: it may be gone; ask the database
        return None
    return row if row.tenant_id == tenant_id else None


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` literally (%, _ and \\ escaped), lowercased."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def row_update(model, **values) -> Update:
    """An UPDATE of the row of `model` whose id is bound as `row_id`, returning the whole
    row, for `update_and_reload`. Build it once (at import): building costs about as
    much CPU as running it."""
    table = model.__table__
    return (
        update(table).where(table.c.id == bindparam("row_id")).values(**values).returning(*table.c)
    )


def row_id(row) -> int:
    """A saved row's id from its identity, never a query: `.id` on a row a commit has
    expired reads the row again first, and on a row of a session that has ended fails."""
    return inspect(row).identity[0]


def lock_row(model, row_id: int, column, *where):
    """The row of `model` with this id (and the `where` conditions, e.g. its tenant),
    freshly read and locked until the transaction ends (None when there is none): two
    writers take turns, the second reads what the first wrote."""
    db.session.flush()  # changes made so far in this transaction are kept, not reloaded over
    if not where and (model, row_id) in _locks():
        return db.session.get(model, row_id)
    statement = for_locking(select(model).where(model.id == row_id, *where), model)
    rows = locked_read(statement, {}, model, row_id, column, *where)
    return rows[0][0] if rows else None


def for_locking(statement: Select, model) -> Select:
    """`statement`, which reads a row of `model` (and what it joins), for `locked_read`.
    Build it once where it runs often: building costs about as much CPU as running it."""
    return statement.with_for_update(of=model).execution_options(populate_existing=True)


def locked_read(statement: Select, params: dict, model, row_id: int, column, *where) -> list:
    """The rows of `statement` (from `for_locking`) with the row of `model` with this id
    (and `where`) freshly read and locked until the transaction ends, as `lock_row`.

    PostgreSQL locks the row (SELECT … FOR UPDATE). SQLite has no row locks; a no-op
    UPDATE of `column` first takes the database's write lock, which serializes the
    same way."""
    db.session.flush()  # changes made so far in this transaction are kept, not reloaded over
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(model).where(model.id == row_id, *where).values({column: column}))
    rows = db.session.execute(statement, params).all()
    if rows:
        _locks().add((model, row_id))
    return rows


# The rows this transaction has locked: locking one again reads nothing, since nobody
# else may change it until the transaction ends and the session holds what it wrote.
# An answer locks its chat once, not twice (bench/widget_load.py).
_LOCKS = "followup.locked_rows"


def _locks() -> set:
    return db.session.info.setdefault(_LOCKS, set())


@event.listens_for(Session, "after_transaction_end")
def _forget_locks(session: Session, transaction) -> None:
    # A savepoint's end too: PostgreSQL releases the locks a rolled-back one took. (Not
    # the end of the inner transaction each flush runs in.)
    if transaction.parent is None or transaction.nested:
        session.info.pop(_LOCKS, None)


def update_and_reload(row, statement: Update, **params) -> None:
    """Run `statement` (from `row_update`) on `row` and read the whole row back into
    it, in one round trip; the row stays locked until the transaction ends.

    The ORM's own UPDATE … RETURNING with populate_existing does the same for about
    twice the CPU; this runs before every AI answer (`autofollowup.on_client_message`)."""
    fresh = db.session.execute(statement, {"row_id": row_id(row), **params}).one()
    mapper = inspect(type(row))
    for column, value in zip(statement.table.c, fresh, strict=True):
        set_committed_value(row, mapper.get_property_by_column(column).key, value)


def commit_keeping_new(*rows) -> None:
    """Commit, and keep `rows`, which this transaction inserted, as it wrote them rather
    than expire them: a streamed turn ends by showing the messages it saved, and
    reading them back would cost a transaction per turn (bench/widget_load.py)."""
    db.session.flush()
    written = [(row, _inserted_values(row)) for row in rows]
    db.session.commit()
    for row, values in written:
        for key, value in values.items():
            set_committed_value(row, key, value)


def _inserted_values(row) -> dict:
    """The columns of a row just inserted: a column the INSERT left out is NULL, unless
    the database gives it a default (then it is read as usual, when asked). Nothing of
    a row a commit has expired since (it is read as usual too)."""
    state = inspect(row)
    if state.expired:
        return {}
    return {
        attr.key: state.dict.get(attr.key)
        for attr in state.mapper.column_attrs
        if attr.key in state.dict or all(c.server_default is None for c in attr.columns)
    }


def keyset_cursor(moment: datetime, row_id: int) -> str:
    """Where a keyset page ends: its last row's time (exact microseconds) and id."""
    return f"{to_micros(moment)}-{row_id}"


def parse_keyset_cursor(text: object) -> tuple[datetime, int] | None:
    """The time and id of a `keyset_cursor`; None for anything else."""
    micros, _, raw_id = text.partition("-") if isinstance(text, str) else ("", "", "")
    row_id = whole_number(raw_id, MAX_ID)
    if row_id is None or not _MICROS.fullmatch(micros) or int(micros) > LAST_MICROS:
        return None
    return from_micros(int(micros)), row_id


# How many rows one sweep takes at most; the next sweep takes the rest.
SWEEP_BATCH = 500


def take_due_leases(model, unsettled, state, lease: timedelta, *returning) -> list[tuple]:
    """The sweep's share of a leased queue in the database (`model` keyed by message_id,
    with `state` and `due_at`): unsettled rows whose time has come, each taken for one
    more lease in `state`, unless a job took it since we looked. Commits; returns the
    `returning` columns of the rows taken."""
    now = utcnow()
    due = db.session.execute(
        select(model.message_id)
        .where(model.due_at <= now, model.state.in_(unsettled))
        .order_by(model.due_at)
        .limit(SWEEP_BATCH)
    ).scalars()
    taken = db.session.execute(
        update(model)
        .where(model.message_id.in_(list(due)), model.due_at <= now)
        .values(state=state, due_at=now + lease)
        .returning(*returning)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return [tuple(row) for row in taken]
