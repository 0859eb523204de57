"""The team inbox's services (issue 14): assignment, priority, bulk actions that refuse
some and change the rest, staff notes with their edit window and stale-edit check, and
the timeline that reads it all, newest first."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from followup.clock import utcnow
from followup.errors import NotFound, ValidationFailed
from followup.extensions import db
from followup.models import (
    DeliveryState,
    FollowUpActivity,
    FollowUpRequest,
    Notification,
    NotificationKind,
    Status,
)
from followup.services import activity, followups, staff_accounts
from followup.services.activity import NoteChangedMeanwhile, NoteLocked
from followup.services.followups import Actor, AssigneeFilter, Filters, Viewer

MEMBER_PASSWORD = "a long enough password"


@pytest.fixture
def owner(staff):
    return staff


@pytest.fixture
def agent(tenant):
    return staff_accounts.create_staff_user(
        "acme", "agent@acme.example", MEMBER_PASSWORD, name="Aaron Agent"
    )


def as_actor(member) -> Actor:
    return Actor(member.display_name, member.id)


def stored(followup_id: int) -> FollowUpRequest:
    db.session.expire_all()
    return db.session.get(FollowUpRequest, followup_id)


def assignment_emails() -> list[tuple[int, int, str]]:
    """The outbox's assignment emails: (request id, assignee id, address)."""
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.kind == NotificationKind.ASSIGNED)
        .order_by(Notification.id)
    )
    return [(row.followup_id, row.staff_user_id, row.recipient) for row in rows]


def test_assigning_records_it_and_tells_the_assignee_only_when_someone_else_did(
    tenant, owner, agent, make_followup
):
    followup = make_followup(tenant)
    followups.assign(tenant.id, followup.id, agent.id, as_actor(owner))
    followups.assign(tenant.id, followup.id, agent.id, as_actor(owner))  # theirs already
    followups.assign(tenant.id, followup.id, owner.id, as_actor(owner))  # takes it
    followups.assign(tenant.id, followup.id, None, as_actor(owner))
    assert stored(followup.id).assignee_id is None
    assert assignment_emails() == [(followup.id, agent.id, agent.email)]
    changes = [
        (entry.from_value, entry.to_value, entry.actor)
        for entry in activity.timeline(stored(followup.id))
        if entry.kind == "assignment"
    ]
    assert changes == [
        ("Olivia Owner", "Nobody", "Olivia Owner"),
        ("Aaron Agent", "Olivia Owner", "Olivia Owner"),
        ("Nobody", "Aaron Agent", "Olivia Owner"),
    ]


def test_the_assignee_must_be_an_active_member_of_the_tenant(
    tenant, other_tenant, owner, agent, make_followup, monkeypatch
):
    followup = make_followup(tenant)
    outsider = staff_accounts.create_staff_user("globex", "g@globex.example", MEMBER_PASSWORD)
    monkeypatch.setattr(type(agent), "is_active", property(lambda member: member.id != agent.id))
    for bad in (outsider.id, agent.id, 999_999, "x", True, 0):
        with pytest.raises(ValidationFailed) as caught:
            followups.assign(tenant.id, followup.id, bad, as_actor(owner))
        assert caught.value.fields == {
            "assignee_id": "Assignee: choose an active member of your team."
        }
    assert stored(followup.id).assignee_id is None
    with pytest.raises(NotFound):
        followups.assign(other_tenant.id, followup.id, None, as_actor(owner))


def test_priority_changes_are_recorded_and_a_bad_one_is_refused(tenant, owner, make_followup):
    followup = make_followup(tenant)
    followups.set_priority(tenant.id, followup.id, "high", as_actor(owner))
    followups.set_priority(tenant.id, followup.id, "high", as_actor(owner))  # no change
    with pytest.raises(ValidationFailed):
        followups.set_priority(tenant.id, followup.id, "urgent", as_actor(owner))
    with pytest.raises(ValidationFailed):
        followups.set_priority(tenant.id, followup.id, None, as_actor(owner))
    assert stored(followup.id).priority == "high"
    entries = [e for e in activity.timeline(stored(followup.id)) if e.kind == "priority"]
    assert [(e.from_value, e.to_value) for e in entries] == [("normal", "high")]


def test_bulk_status_changes_those_the_workflow_allows_and_reports_the_others(
    tenant, other_tenant, owner, make_followup
):
    pending, resolved_one, contacted = (make_followup(tenant) for _ in range(3))
    theirs = make_followup(other_tenant)
    actor = as_actor(owner)
    followups.change_status(tenant.id, resolved_one.id, Status.CONTACTED, actor)
    followups.change_status(tenant.id, resolved_one.id, Status.RESOLVED, actor)
    followups.change_status(tenant.id, contacted.id, Status.CONTACTED, actor)
    ids = [pending.id, resolved_one.id, contacted.id, theirs.id, pending.id]
    result = followups.bulk_status(tenant.id, ids, "contacted", actor)
    assert result.done == [pending.id, contacted.id]  # contacted already: nothing to do
    assert result.refused == {
        resolved_one.id: "This request is resolved, a final status; it cannot be changed.",
        theirs.id: "No such follow-up request.",
    }
    assert [stored(i).status for i in (pending.id, resolved_one.id, theirs.id)] == [
        "contacted",
        "resolved",
        "pending",
    ]
    assert stored(pending.id).contacted_at is not None


@pytest.mark.parametrize(
    "ids", [[], "1,2", ["x"], [0], list(range(1, followups.MAX_BULK + 2)), None]
)
def test_a_bad_selection_is_refused_whole(tenant, owner, make_followup, ids):
    with pytest.raises(ValidationFailed) as caught:
        followups.bulk_priority(tenant.id, ids, "high", as_actor(owner))
    assert set(caught.value.fields) == {"ids"}


def test_bulk_assign_and_priority_change_every_request_of_the_tenant_selected(
    tenant, owner, agent, make_followup
):
    mine = [make_followup(tenant) for _ in range(3)]
    ids = [f.id for f in mine]
    result = followups.bulk_assign(tenant.id, [str(i) for i in ids], agent.id, as_actor(owner))
    assert (result.done, result.refused) == (ids, {})
    assert [stored(i).assignee_id for i in ids] == [agent.id] * 3
    assert assignment_emails() == [(i, agent.id, agent.email) for i in ids]
    result = followups.bulk_priority(tenant.id, ids, "high", as_actor(owner))
    assert [stored(i).priority for i in ids] == ["high"] * 3
    with pytest.raises(ValidationFailed):
        followups.bulk_assign(tenant.id, ids, 999_999, as_actor(owner))
    assert [stored(i).assignee_id for i in ids] == [agent.id] * 3


def test_the_list_filters_mine_unassigned_overdue_priority_and_source(
    tenant, owner, agent, make_followup, moved_clock
):
    old = make_followup(tenant, priority="high")
    moved_clock.shift(timedelta(hours=25))
    fresh = make_followup(tenant)
    voice = make_followup(tenant, source="voice")
    followups.assign(tenant.id, fresh.id, owner.id, as_actor(owner))
    followups.assign(tenant.id, voice.id, agent.id, as_actor(owner))
    viewer = Viewer(staff_user_id=owner.id)

    def ids(**filters) -> list[int]:
        page = followups.list_page(tenant.id, Filters.parse(**filters), viewer=viewer)
        return [row.id for row in page.items]

    assert ids() == [voice.id, fresh.id, old.id]
    assert ids(assignee="mine") == [fresh.id]
    assert ids(assignee="unassigned") == [old.id]
    assert ids(overdue="1") == [old.id]
    assert ids(priority="high") == [old.id]
    assert ids(source="voice") == [voice.id]
    assert ids(assignee_id=str(agent.id)) == [voice.id]
    assert ids(assignee="mine", source="voice") == []
    row = followups.list_page(tenant.id, Filters(assignee=AssigneeFilter.MINE), viewer=viewer)
    assert row.items[0].assignee_name == "Olivia Owner"
    with pytest.raises(ValidationFailed) as caught:
        Filters.parse(assignee="theirs", overdue="maybe", source="fax", priority="low")
    assert set(caught.value.fields) == {"assignee", "overdue", "source", "priority"}


def test_a_note_is_edited_or_deleted_by_its_author_within_15_minutes(
    tenant, owner, agent, make_followup, moved_clock
):
    followup = make_followup(tenant)
    note = activity.add_note(followup, "  Called, no answer.  ", as_actor(owner))
    assert note.text == "Called, no answer."
    with pytest.raises(NoteLocked, match="Only its author"):
        activity.edit_note(tenant.id, followup.id, note.id, "Mine", as_actor(agent), 0)
    moved_clock.shift(timedelta(minutes=14))
    edited = activity.edit_note(
        tenant.id, followup.id, note.id, "Called twice.", as_actor(owner), 0
    )
    assert (edited.text, edited.version, edited.edited_at is not None) == ("Called twice.", 1, True)
    moved_clock.shift(timedelta(minutes=2))
    with pytest.raises(NoteLocked, match="for 15 minutes"):
        activity.edit_note(tenant.id, followup.id, note.id, "Late", as_actor(owner), 1)
    with pytest.raises(NoteLocked):
        activity.delete_note(tenant.id, followup.id, note.id, as_actor(owner), 1)
    db.session.expire_all()
    assert db.session.get(FollowUpActivity, note.id).text == "Called twice."


def test_a_stale_edit_is_refused_with_the_note_as_it_is_now(tenant, owner, make_followup):
    followup = make_followup(tenant)
    note = activity.add_note(followup, "First words", as_actor(owner))
    activity.edit_note(tenant.id, followup.id, note.id, "Second words", as_actor(owner), 0)
    with pytest.raises(NoteChangedMeanwhile) as caught:
        activity.edit_note(tenant.id, followup.id, note.id, "From an old tab", as_actor(owner), 0)
    assert (caught.value.note.text, caught.value.note.version) == ("Second words", 1)
    activity.delete_note(tenant.id, followup.id, note.id, as_actor(owner), "1")
    with pytest.raises(NoteChangedMeanwhile):  # deleted meanwhile
        activity.edit_note(tenant.id, followup.id, note.id, "Again", as_actor(owner), 2)
    assert activity.notes_of(tenant.id, followup.id) == []
    with pytest.raises(ValidationFailed):
        activity.edit_note(tenant.id, followup.id, note.id, "x", as_actor(owner), "latest")


def test_notes_are_checked_and_belong_to_their_tenant(tenant, other_tenant, owner, make_followup):
    followup = make_followup(tenant)
    with pytest.raises(ValidationFailed) as caught:
        activity.add_note(followup, "   ", as_actor(owner))
    assert caught.value.fields == {"text": "Note: please fill this in."}
    note = activity.add_note(followup, "ok", as_actor(owner))
    with pytest.raises(NotFound):
        activity.edit_note(other_tenant.id, followup.id, note.id, "x", as_actor(owner), 0)
    assert db.session.scalar(select(FollowUpActivity.text).where(FollowUpActivity.id == note.id))


def test_links_in_a_note_are_clickable_and_everything_else_escaped():
    html = activity.linkify('See https://example.com/a?b=1&c=2. <b>"hi"</b> http://x.test')
    assert html == (
        'See <a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow"'
        ' target="_blank">https://example.com/a?b=1&amp;c=2</a>. &lt;b&gt;&#34;hi&#34;&lt;/b&gt; '
        '<a href="http://x.test" rel="noopener noreferrer nofollow" target="_blank">'
        "http://x.test</a>"
    )
    assert activity.linkify("javascript:alert(1)") == "javascript:alert(1)"


def test_the_timeline_is_newest_first_and_holds_every_kind(
    tenant, owner, make_followup, moved_clock
):
    followup = make_followup(tenant)
    actor = as_actor(owner)
    moved_clock.shift(timedelta(minutes=1))
    sent = db.session.scalars(select(Notification).where(Notification.followup_id == followup.id))
    for notification in sent:
        notification.state, notification.sent_at = DeliveryState.SENT, utcnow()
    db.session.commit()
    moved_clock.shift(timedelta(minutes=1))
    activity.add_note(followup, "Will call", actor)
    moved_clock.shift(timedelta(minutes=1))
    followups.change_status(tenant.id, followup.id, Status.CONTACTED, actor)
    moved_clock.shift(timedelta(minutes=1))
    followups.assign(tenant.id, followup.id, owner.id, actor)
    moved_clock.shift(timedelta(minutes=1))
    followups.set_priority(tenant.id, followup.id, "high", actor)
    moved_clock.shift(timedelta(minutes=1))
    deleted = activity.add_note(followup, "Oops", actor)
    activity.delete_note(tenant.id, followup.id, deleted.id, actor, 0)
    kinds = [entry.kind for entry in activity.timeline(stored(followup.id))]
    assert kinds[:4] == ["priority", "assignment", "status", "note"]
    assert kinds[4:] and set(kinds[4:]) == {"notification"}  # each outcome, oldest
