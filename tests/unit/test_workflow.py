"""The status workflow: Pending → Contacted | Cancelled; Contacted → Resolved | Cancelled."""

from datetime import UTC, datetime

import pytest
import time_machine

from followup.errors import NotFound, TransitionNotAllowed, ValidationFailed
from followup.extensions import db
from followup.models import FollowUpRequest, Status
from followup.services import followups, workflow
from followup.services.followups import Actor

ALLOWED = {
    (Status.PENDING, Status.CONTACTED),
    (Status.PENDING, Status.CANCELLED),
    (Status.CONTACTED, Status.RESOLVED),
    (Status.CONTACTED, Status.CANCELLED),
}
EVERY_PAIR = [(a, b) for a in Status for b in Status]


@pytest.mark.parametrize(("current", "new"), EVERY_PAIR)
def test_only_the_four_spec_transitions_are_allowed(current, new):
    if (current, new) in ALLOWED:
        workflow.check_transition(current, new)
        assert new in workflow.allowed_next(current)
    else:
        with pytest.raises(TransitionNotAllowed):
            workflow.check_transition(current, new)
        assert new not in workflow.allowed_next(current)


@pytest.mark.parametrize("final", [Status.RESOLVED, Status.CANCELLED])
def test_final_statuses_say_so(final):
    with pytest.raises(TransitionNotAllowed, match="final status"):
        workflow.check_transition(final, Status.PENDING)


def test_unknown_status_is_a_field_error():
    with pytest.raises(ValidationFailed) as caught:
        workflow.parse_status("archived")
    assert "status" in caught.value.fields


def _path_to(status: Status) -> list[Status]:
    return {
        Status.PENDING: [],
        Status.CONTACTED: [Status.CONTACTED],
        Status.RESOLVED: [Status.CONTACTED, Status.RESOLVED],
        Status.CANCELLED: [Status.CANCELLED],
    }[status]


@pytest.mark.parametrize(("current", "new"), EVERY_PAIR)
def test_change_status_stamps_records_or_changes_nothing(tenant, make_followup, current, new):
    followup = make_followup(tenant)
    for step in _path_to(current):
        followups.change_status(tenant.id, followup.id, step, Actor("setup"))
    moment = datetime(2030, 5, 4, 3, 2, 1, tzinfo=UTC)
    before = db.session.get(FollowUpRequest, followup.id)
    snapshot = (
        before.status,
        before.contacted_at,
        before.resolved_at,
        before.cancelled_at,
        len(before.history),
    )
    with time_machine.travel(moment, tick=False):
        if (current, new) in ALLOWED:
            followups.change_status(tenant.id, followup.id, new, Actor("Olivia"))
        else:
            with pytest.raises(TransitionNotAllowed):
                followups.change_status(tenant.id, followup.id, new, Actor("Olivia"))
    db.session.expire_all()
    after = db.session.get(FollowUpRequest, followup.id)
    if (current, new) in ALLOWED:
        assert after.status == new
        assert getattr(after, workflow.STATUS_TIMESTAMP[new]) == moment
        last = after.history[-1]
        assert (last.from_status, last.to_status, last.actor_label, last.changed_at) == (
            current,
            new,
            "Olivia",
            moment,
        )
    else:
        assert (
            after.status,
            after.contacted_at,
            after.resolved_at,
            after.cancelled_at,
            len(after.history),
        ) == snapshot


def test_change_status_is_scoped_to_the_tenant(tenant, other_tenant, make_followup):
    theirs = make_followup(other_tenant)
    with pytest.raises(NotFound):
        followups.change_status(tenant.id, theirs.id, Status.CONTACTED, Actor("intruder"))
    db.session.expire_all()
    assert db.session.get(FollowUpRequest, theirs.id).status == Status.PENDING


def test_patch_checks_everything_before_changing_anything(tenant, make_followup):
    followup = make_followup(tenant)
    with pytest.raises(TransitionNotAllowed):
        followups.update_followup(
            tenant.id,
            followup.id,
            {"status": "resolved", "notes": "should not stick"},
            Actor("api"),
        )
    db.session.expire_all()
    stored = db.session.get(FollowUpRequest, followup.id)
    assert (stored.status, stored.notes) == (Status.PENDING, "")
