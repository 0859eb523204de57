"""Two writes of one request at once take turns, the second checked against the first."""

import threading

from sqlalchemy import event
from sqlalchemy.orm import Session

from followup.extensions import db
from followup.models import FollowUpRequest, Status
from followup.services import followups
from followup.services.followups import Actor


def stored(followup_id: int) -> FollowUpRequest:
    db.session.expire_all()
    return db.session.get(FollowUpRequest, followup_id)


def _is_lock_of_the_row(statement: str) -> bool:
    """The statement with which a writer takes the request's lock (see queries.lock_row)."""
    return "FOR UPDATE" in statement or statement.startswith("UPDATE followup_requests")


def run_at_once(app, first, second) -> dict[str, object]:
    """Run `first` until it holds the request's lock, then `second` until it asks for the
    same lock; only then may `first` commit. Returns each one's result or error."""
    first_locked, second_asks = threading.Event(), threading.Event()
    threads: dict[str, int] = {}
    outcomes: dict[str, object] = {}

    def after_execute(_conn, _cursor, statement, *_):
        if threads.get("first") == threading.get_ident() and _is_lock_of_the_row(statement):
            first_locked.set()

    def before_execute(_conn, _cursor, statement, *_):
        if threads.get("second") == threading.get_ident() and _is_lock_of_the_row(statement):
            second_asks.set()

    def before_commit(_session):
        if threads.get("first") == threading.get_ident():
            assert second_asks.wait(timeout=30), "the second writer never asked for the lock"

    def run(name: str, work) -> None:
        threads[name] = threading.get_ident()
        with app.app_context():
            try:
                outcomes[name] = work()
            except Exception as exc:  # the outcome to compare
                outcomes[name] = exc
            finally:
                db.session.remove()

    hooks = [
        (db.engine, "after_cursor_execute", after_execute),
        (db.engine, "before_cursor_execute", before_execute),
        (Session, "before_commit", before_commit),
    ]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    try:
        first_thread = threading.Thread(target=run, args=("first", first))
        first_thread.start()
        assert first_locked.wait(timeout=30), "the first writer never took the lock"
        second_thread = threading.Thread(target=run, args=("second", second))
        second_thread.start()
        first_thread.join()
        second_thread.join()
    finally:
        for target, name, hook in hooks:
            event.remove(target, name, hook)
    return outcomes


def test_two_status_changes_at_once_take_turns(app, tenant, make_followup):
    """The second sees the first's move: the history is one chain, never two moves
    from the same status."""
    tenant_id, followup_id = tenant.id, make_followup(tenant).id
    db.session.remove()
    outcomes = run_at_once(
        app,
        lambda: followups.change_status(tenant_id, followup_id, "contacted", Actor("A")).id,
        lambda: followups.change_status(tenant_id, followup_id, "cancelled", Actor("B")).id,
    )
    assert outcomes == {"first": followup_id, "second": followup_id}
    moves = [(c.from_status, c.to_status) for c in stored(followup_id).history]
    assert moves == [
        (Status.PENDING, Status.CONTACTED),
        (Status.CONTACTED, Status.CANCELLED),
    ]
