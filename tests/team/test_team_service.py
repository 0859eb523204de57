"""The team's rules (services/team.py): invitations, roles, deactivation, ownership, and
the one-time links (invitation, password reset, email change) sent through the outbox."""

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from followup.clock import utcnow
from followup.errors import NotFound, TransitionNotAllowed, ValidationFailed
from followup.extensions import db, mail
from followup.models import (
    DeliveryState,
    FollowUpRequest,
    Notification,
    StaffRole,
    StaffStatus,
    StaffToken,
    StaffTokenPurpose,
    StaffUser,
)
from followup.services import activity, followups, staff_accounts, team
from followup.services.activity import Actor
from tests.helpers.staff import PASSWORD

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"http://localhost/(invitation|reset-password|confirm-email)/([\w-]+)")


def link_of(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(2)


def invite(actor, email="new@acme.example", role="agent"):
    """Invite `email`; returns (the invited member, the token in the email sent)."""
    with mail.record_messages() as outbox:
        member = team.invite(actor, email, role)
    assert [message.recipients for message in outbox] == [[email]]
    return member, link_of(outbox[0])


@pytest.fixture
def admin(staff):
    return staff_accounts.create_staff_user("acme", "ada@acme.example", PASSWORD, "Ada", "admin")


@pytest.fixture
def agent(staff):
    return staff_accounts.create_staff_user("acme", "al@acme.example", PASSWORD, "Al", "agent")


def reloaded(member: StaffUser) -> StaffUser:
    db.session.expire_all()
    return db.session.get(StaffUser, member.id)


# --- inviting ------------------------------------------------------------------------------------


def test_an_invitation_goes_through_the_outbox_and_its_link_lets_the_invitee_join(staff):
    with mail.record_messages() as outbox:
        invited = team.invite(staff, "New@Acme.example", "agent")
    assert (invited.email, invited.role, invited.status) == (
        "new@acme.example",
        StaffRole.AGENT,
        StaffStatus.INVITED,
    )
    row = db.session.scalar(select(Notification).where(Notification.staff_user_id == invited.id))
    assert (row.kind, row.channel, row.recipient, row.followup_id, row.state) == (
        "staff_invitation",
        "staff_email",
        "new@acme.example",
        None,
        DeliveryState.SENT,
    )
    assert outbox[0].subject == "Acme Inc: you are invited to the team on Followup"
    assert "Olivia Owner invited you to join Acme Inc" in outbox[0].body
    token = link_of(outbox[0])
    stored = db.session.scalar(select(StaffToken).where(StaffToken.staff_user_id == invited.id))
    assert token not in (stored.token_hash, stored.nonce)  # only its hash is kept
    assert stored.expires_at == stored.created_at + timedelta(hours=72)
    # Not yet a member who can sign in.
    assert staff_accounts.authenticate("new@acme.example", "") is None
    joined = team.accept_invitation(token, "Nina New", NEW_PASSWORD)
    assert (joined.name, joined.status) == ("Nina New", StaffStatus.ACTIVE)
    assert staff_accounts.authenticate("new@acme.example", NEW_PASSWORD).id == invited.id


def test_an_invitation_link_works_once(staff):
    _, token = invite(staff)
    team.accept_invitation(token, "Nina", NEW_PASSWORD)
    with pytest.raises(team.LinkInvalid):
        team.accept_invitation(token, "Mallory", "another long password")
    assert staff_accounts.authenticate("new@acme.example", NEW_PASSWORD) is not None


def test_an_invitation_link_expires_after_72_hours(staff):
    _, token = invite(staff)
    late = utcnow() + timedelta(hours=72, seconds=1)
    with time_machine.travel(late), pytest.raises(team.LinkInvalid):
        team.link_holder(token, "invitation")
    with time_machine.travel(utcnow() + timedelta(hours=71, minutes=59)):
        assert team.accept_invitation(token, "Nina", NEW_PASSWORD).status == StaffStatus.ACTIVE


def test_a_new_invitation_replaces_the_earlier_link(staff):
    _, first = invite(staff)
    _, second = invite(staff, role="admin")
    with pytest.raises(team.LinkInvalid):
        team.accept_invitation(first, "Nina", NEW_PASSWORD)
    assert team.accept_invitation(second, "Nina", NEW_PASSWORD).role == StaffRole.ADMIN


def test_a_link_of_a_member_of_another_business_does_not_open(staff, other_tenant):
    invited, token = invite(staff)
    stored = db.session.scalar(select(StaffToken).where(StaffToken.staff_user_id == invited.id))
    stored.tenant_id = other_tenant.id  # a row that claims another business
    db.session.commit()
    with pytest.raises(team.LinkInvalid):
        team.accept_invitation(token, "Nina", NEW_PASSWORD)


def test_a_link_for_another_purpose_does_not_open(staff):
    _, token = invite(staff)
    with pytest.raises(team.LinkInvalid):
        team.reset_password(token, NEW_PASSWORD)
    with pytest.raises(team.LinkInvalid):
        team.confirm_email_change(token)


def test_a_withdrawn_invitation_link_does_not_open(staff):
    invited, token = invite(staff)
    team.cancel_invitation(staff, invited.id)
    with pytest.raises(team.LinkInvalid):
        team.accept_invitation(token, "Nina", NEW_PASSWORD)


def test_an_invitation_with_bad_fields_changes_nothing(staff):
    with mail.record_messages() as outbox, pytest.raises(ValidationFailed) as refused:
        team.invite(staff, "not an email", "owner")
    assert set(refused.value.fields) == {"email", "role"}
    assert outbox == []
    assert len(team.members(staff.tenant_id)) == 1


def test_an_address_with_an_account_cannot_be_invited(staff, other_tenant):
    staff_accounts.create_staff_user("globex", "gil@globex.example", PASSWORD)
    for address in ("owner@acme.example", "gil@globex.example"):
        with pytest.raises(ValidationFailed) as refused:
            team.invite(staff, address, "agent")
        assert "already has a Followup account" in refused.value.fields["email"]


def test_accepting_needs_a_name_and_a_long_enough_password_and_keeps_the_link(staff):
    _, token = invite(staff)
    with pytest.raises(ValidationFailed) as refused:
        team.accept_invitation(token, "  ", "short")
    assert set(refused.value.fields) == {"name", "password"}
    assert team.accept_invitation(token, "Nina", NEW_PASSWORD).status == StaffStatus.ACTIVE


def test_agents_cannot_invite(agent):
    with pytest.raises(team.NotAllowed):
        team.invite(agent, "new@acme.example", "agent")


# --- roles, deactivation, ownership --------------------------------------------------------------


def test_an_admin_changes_an_agents_role_and_back(admin, agent):
    assert team.change_role(admin, agent.id, "admin").role == StaffRole.ADMIN
    assert team.change_role(admin, agent.id, "agent").role == StaffRole.AGENT
    with pytest.raises(ValidationFailed):
        team.change_role(admin, agent.id, "owner")


@pytest.mark.parametrize("action", ["change_role", "deactivate"])
def test_the_owner_cannot_be_demoted_or_deactivated(staff, admin, action):
    args = ("agent",) if action == "change_role" else ()
    with pytest.raises(team.NotAllowed) as refused:
        getattr(team, action)(admin, staff.id, *args)
    assert "The owner cannot be deactivated or given another role" in refused.value.message
    assert (reloaded(staff).role, reloaded(staff).status) == (StaffRole.OWNER, StaffStatus.ACTIVE)


def test_nobody_changes_their_own_role(admin):
    with pytest.raises(team.NotAllowed):
        team.change_role(admin, admin.id, "agent")
    assert reloaded(admin).role == StaffRole.ADMIN


def test_agents_change_no_roles(agent, admin):
    with pytest.raises(team.NotAllowed):
        team.change_role(agent, admin.id, "agent")


def test_members_of_another_business_are_out_of_reach(staff, other_tenant):
    stranger = staff_accounts.create_staff_user("globex", "gil@globex.example", PASSWORD)
    stranger_agent = staff_accounts.create_staff_user(
        "globex", "gia@globex.example", PASSWORD, role="agent"
    )
    for action, args in [
        (team.change_role, (stranger_agent.id, "admin")),
        (team.deactivate, (stranger_agent.id,)),
        (team.transfer_ownership, (stranger_agent.id,)),
    ]:
        with pytest.raises(NotFound):
            action(staff, *args)
    assert reloaded(stranger_agent).role == StaffRole.AGENT
    assert reloaded(stranger).role == StaffRole.OWNER


def test_deactivation_ends_every_session_and_sign_in_and_reactivation_allows_it(admin, agent):
    version = agent.session_version
    team.deactivate(admin, agent.id)
    assert reloaded(agent).status == StaffStatus.DEACTIVATED
    assert reloaded(agent).session_version == version + 1
    assert staff_accounts.authenticate(agent.email, PASSWORD) is None
    with pytest.raises(TransitionNotAllowed):
        team.deactivate(admin, agent.id)
    team.reactivate(admin, agent.id)
    assert staff_accounts.authenticate(agent.email, PASSWORD).id == agent.id


def test_deactivation_gives_the_open_requests_back_to_the_team(tenant, admin, agent, make_followup):
    by_admin = Actor(admin.display_name, admin.id)
    pending, contacted, resolved = (make_followup(tenant) for _ in range(3))
    for followup in (pending, contacted, resolved):
        followups.assign(tenant.id, followup.id, agent.id, by_admin)
    followups.change_status(tenant.id, contacted.id, "contacted", by_admin)
    followups.change_status(tenant.id, resolved.id, "contacted", by_admin)
    followups.change_status(tenant.id, resolved.id, "resolved", by_admin)
    team.deactivate(admin, agent.id)
    db.session.expire_all()
    assignees = [
        db.session.get(FollowUpRequest, f.id).assignee_id for f in (pending, contacted, resolved)
    ]
    assert assignees == [None, None, agent.id]  # who handled a closed one stays known
    entries = [
        e
        for e in activity.timeline(db.session.get(FollowUpRequest, pending.id))
        if e.kind == "assignment"
    ]
    assert (entries[0].from_value, entries[0].to_value, entries[0].actor) == (
        agent.display_name,
        "Nobody",
        admin.display_name,
    )


def test_a_deactivated_members_reset_link_stops_working(admin, agent):
    with mail.record_messages() as outbox:
        team.request_password_reset(agent.email)
    token = link_of(outbox[0])
    team.deactivate(admin, agent.id)
    with pytest.raises(team.LinkInvalid):
        team.reset_password(token, NEW_PASSWORD)


def test_the_owner_hands_over_ownership_and_becomes_an_admin(staff, admin):
    team.transfer_ownership(staff, admin.id)
    assert (reloaded(admin).role, reloaded(staff).role) == (StaffRole.OWNER, StaffRole.ADMIN)
    owners = [m for m in team.members(staff.tenant_id) if m.role == StaffRole.OWNER]
    assert [m.id for m in owners] == [admin.id]


def test_only_the_owner_hands_over_ownership_and_only_to_an_active_member(staff, admin, agent):
    with pytest.raises(team.NotAllowed):
        team.transfer_ownership(admin, agent.id)
    team.deactivate(staff, agent.id)
    with pytest.raises(TransitionNotAllowed):
        team.transfer_ownership(staff, agent.id)
    with pytest.raises(TransitionNotAllowed):
        team.transfer_ownership(staff, staff.id)
    assert reloaded(staff).role == StaffRole.OWNER


def test_members_are_listed_owner_first(staff, admin, agent):
    assert [m.role for m in team.members(staff.tenant_id)] == ["owner", "admin", "agent"]


# --- password reset ------------------------------------------------------------------------------


def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(staff):
    version = staff.session_version
    with mail.record_messages() as outbox:
        team.request_password_reset(" OWNER@acme.example ")
    assert outbox[0].subject == "Reset your Followup password"
    token = link_of(outbox[0])
    team.reset_password(token, NEW_PASSWORD)
    assert staff_accounts.authenticate(staff.email, NEW_PASSWORD) is not None
    assert reloaded(staff).session_version > version
    with pytest.raises(team.LinkInvalid):
        team.reset_password(token, "yet another long password")


def test_a_reset_link_expires_after_one_hour(staff):
    with mail.record_messages() as outbox:
        team.request_password_reset(staff.email)
    token = link_of(outbox[0])
    late = utcnow() + timedelta(hours=1, seconds=1)
    with time_machine.travel(late), pytest.raises(team.LinkInvalid):
        team.reset_password(token, NEW_PASSWORD)
    assert staff_accounts.authenticate(staff.email, PASSWORD) is not None


@pytest.mark.parametrize("address", ["nobody@acme.example", "not an email", ""])
def test_a_reset_for_an_unknown_address_sends_nothing_and_says_nothing(staff, address):
    with mail.record_messages() as outbox:
        assert team.request_password_reset(address) is None
    assert outbox == []
    assert db.session.scalar(select(StaffToken.id)) is None


def test_an_invited_member_gets_no_reset_link(staff):
    invite(staff)
    with mail.record_messages() as outbox:
        team.request_password_reset("new@acme.example")
    assert outbox == []


# --- a member's own account ----------------------------------------------------------------------


def test_a_new_email_takes_effect_only_when_its_link_is_opened(staff):
    with mail.record_messages() as outbox:
        team.request_email_change(staff, "olivia@acme.example", PASSWORD)
    assert outbox[0].recipients == ["olivia@acme.example"]
    assert reloaded(staff).email == "owner@acme.example"
    team.confirm_email_change(link_of(outbox[0]))
    assert reloaded(staff).email == "olivia@acme.example"
    assert staff_accounts.authenticate("olivia@acme.example", PASSWORD) is not None


def test_an_email_change_needs_the_current_password_and_a_free_address(staff, admin):
    with pytest.raises(ValidationFailed) as refused:
        team.request_email_change(staff, admin.email, "wrong password")
    assert set(refused.value.fields) == {"current_password", "email"}


def test_changing_the_password_needs_the_current_one_and_ends_the_sessions(staff):
    version = staff.session_version
    with pytest.raises(ValidationFailed):
        team.change_password(staff, "wrong", NEW_PASSWORD)
    assert reloaded(staff).session_version == version
    team.change_password(staff, PASSWORD, NEW_PASSWORD)
    assert reloaded(staff).session_version == version + 1
    assert staff_accounts.authenticate(staff.email, NEW_PASSWORD) is not None


def test_a_reset_asked_again_within_5_minutes_sends_nothing_and_keeps_the_link(staff):
    with time_machine.travel(utcnow(), tick=False) as clock, mail.record_messages() as outbox:
        team.request_password_reset(staff.email)
        first = link_of(outbox[0])
        clock.shift(timedelta(minutes=4, seconds=59))
        team.request_password_reset(staff.email)
        assert len(outbox) == 1
        assert team.link_holder(first, StaffTokenPurpose.PASSWORD_RESET)  # still works
        clock.shift(timedelta(seconds=2))
        team.request_password_reset(staff.email)
        assert len(outbox) == 2
