"""The legacy staff notes (the API's `notes`, before the timeline) carry a version: a save
based on an older one is refused, never lost; and two writes of one request at once take
turns, the second checked against the first."""

import threading

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from followup.errors import ValidationFailed
from followup.extensions import db
from followup.models import FollowUpRequest, Status
from followup.services import followups
from followup.services.followups import Actor, NotesChangedMeanwhile


def stored(followup_id: int) -> FollowUpRequest:
    db.session.expire_all()
    return db.session.get(FollowUpRequest, followup_id)


def save_notes(tenant_id: int, followup_id: int, notes: str, based_on: object):
    """Save the notes as an API client does: a PATCH with the version it read."""
    changes = {"notes": notes, "notes_version": based_on}
    return followups.update_followup(tenant_id, followup_id, changes, Actor("api"))


def test_each_save_that_changes_the_notes_counts_a_version(tenant, make_followup):
    followup_id = make_followup(tenant).id
    assert stored(followup_id).notes_version == 0
    save_notes(tenant.id, followup_id, "Called.", 0)
    save_notes(tenant.id, followup_id, "  Called.  ", 1)  # the same
    save_notes(tenant.id, followup_id, "Called twice.", "1")  # as text
    assert (stored(followup_id).notes, stored(followup_id).notes_version) == ("Called twice.", 2)


def test_a_save_based_on_an_older_version_is_refused_and_changes_nothing(tenant, make_followup):
    followup_id = make_followup(tenant).id
    save_notes(tenant.id, followup_id, "Theirs", 0)
    with pytest.raises(NotesChangedMeanwhile, match="Someone else changed these notes"):
        save_notes(tenant.id, followup_id, "Mine", 0)
    assert (stored(followup_id).notes, stored(followup_id).notes_version) == ("Theirs", 1)


def test_a_save_without_a_version_counts_one_too(tenant, make_followup):
    followup_id = make_followup(tenant).id
    followups.update_followup(tenant.id, followup_id, {"notes": "From the CRM"}, Actor("api"))
    with pytest.raises(NotesChangedMeanwhile):
        save_notes(tenant.id, followup_id, "Mine", 0)
    assert stored(followup_id).notes == "From the CRM"


def test_a_bad_version_names_the_field(tenant, make_followup):
    followup_id = make_followup(tenant).id
    with pytest.raises(ValidationFailed) as caught:
        save_notes(tenant.id, followup_id, "Mine", "latest")
    assert set(caught.value.fields) == {"notes_version"}


# --- two writers at once ----------------------------------------------------------------------


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


def test_two_notes_saves_at_once_on_one_version_keep_the_first_and_refuse_the_second(
    app, tenant, make_followup
):
    tenant_id, followup_id = tenant.id, make_followup(tenant).id
    db.session.remove()
    outcomes = run_at_once(
        app,
        lambda: save_notes(tenant_id, followup_id, "First", 0).id,
        lambda: save_notes(tenant_id, followup_id, "Second", 0).id,
    )
    assert outcomes["first"] == followup_id
    assert isinstance(outcomes["second"], NotesChangedMeanwhile)
    assert (stored(followup_id).notes, stored(followup_id).notes_version) == ("First", 1)


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
