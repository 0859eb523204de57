"""What the app asks of the database during a request, for tests of how many round
trips a path makes (the time to an answer's first token is mostly those)."""

import contextlib
from collections.abc import Iterator

from sqlalchemy import event

from followup.extensions import db


@contextlib.contextmanager
def database_work() -> Iterator[list[str]]:
    """What the app asks of the database meanwhile, in order: each statement's first
    word, COMMIT, and CHECKOUT for each connection taken from the pool."""
    seen: list[str] = []
    hooks = [
        (db.engine, "before_cursor_execute", lambda _c, _cur, sql, *_: seen.append(sql.split()[0])),
        (db.engine, "commit", lambda _conn: seen.append("COMMIT")),
        (db.engine.pool, "checkout", lambda *_: seen.append("CHECKOUT")),
    ]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    try:
        yield seen
    finally:
        for target, name, hook in hooks:
            event.remove(target, name, hook)
