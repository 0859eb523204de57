"""The team: inviting members, their roles, deactivating them, handing over ownership,
and the one-time links a member gets by email (invitation, password reset, new email).

Who may do what is `services.permissions.allows`; this module adds the rules about the
members themselves: a business has one owner, who cannot be deactivated or demoted
(ownership is handed over instead), and nobody changes their own role.

A link is single use and expires (invitations and email changes after 72 hours, a
password reset after 1 hour); a new link of the same kind replaces the member's
earlier one. Only its hash and a random nonce are stored (`models.staff.link_token`).
"""

import logging
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import case, select, update

from followup.clock import utcnow
from followup.errors import DomainError, TransitionNotAllowed, ValidationFailed
from followup.extensions import db
from followup.locales import staff_gettext, staff_text
from followup.models import (
    NotificationKind,
    StaffRole,
    StaffStatus,
    StaffToken,
    StaffTokenPurpose,
    StaffUser,
    hash_link_token,
)
from followup.models.staff import link_token
from followup.queue import queue_password_reset
from followup.services import followups, live, notifications
from followup.services.activity import Actor
from followup.services.permissions import Permission, allows
from followup.services.queries import tenant_row
from followup.services.staff_accounts import new_password, unusable_password_hash
from followup.services.validation import (
    FieldErrors,
    clean_text,
    normalize_email,
    normalize_phone,
    problem,
)

log = logging.getLogger(__name__)

INVITATION_VALID = timedelta(hours=72)
PASSWORD_RESET_VALID = timedelta(hours=1)
# A reset asked for again this soon sends nothing: the link on its way still works, and
# nobody can keep a member's real link dying by asking for new ones.
RESET_QUIET_FOR = timedelta(minutes=5)
EMAIL_CHANGE_VALID = timedelta(hours=72)
INVITABLE_ROLES = (StaffRole.ADMIN, StaffRole.AGENT)
NO_SUCH_MEMBER = staff_text("There is no such member in your team.")
LINK_INVALID = staff_text(
    "This link no longer works: it was used already, a newer one replaced it, or it "
    "expired. Ask for a new one."
)
VALID_FOR = {
    StaffTokenPurpose.INVITATION: INVITATION_VALID,
    StaffTokenPurpose.PASSWORD_RESET: PASSWORD_RESET_VALID,
    StaffTokenPurpose.EMAIL_CHANGE: EMAIL_CHANGE_VALID,
}
KIND_OF = {
    StaffTokenPurpose.INVITATION: NotificationKind.STAFF_INVITATION,
    StaffTokenPurpose.PASSWORD_RESET: NotificationKind.PASSWORD_RESET,
    StaffTokenPurpose.EMAIL_CHANGE: NotificationKind.EMAIL_CHANGE,
}


class NotAllowed(DomainError):
    code = "forbidden"
    http_status = 403


class TryAgainLater(DomainError):
    """A dependency (Redis) is away: nothing was done; the same request works later."""

    code = "try_again_later"
    http_status = 503


class LinkInvalid(DomainError):
    code = "link_invalid"
    http_status = 410

    def __init__(self) -> None:
        super().__init__(staff_gettext(LINK_INVALID))


def _require(actor: StaffUser, permission: Permission, refusal: str) -> None:
    """`refusal`: what a role without `permission` is told, naming it as `%(role)s`."""
    if not allows(actor.role, permission):
        raise NotAllowed(staff_gettext(refusal, role=actor.role))


# --- the team page -----------------------------------------------------------------------------

_ROLE_ORDER = case(
    {StaffRole.OWNER: 0, StaffRole.ADMIN: 1, StaffRole.AGENT: 2}, value=StaffUser.role, else_=3
)


def members(tenant_id: int) -> list[StaffUser]:
    """The tenant's members: the owner first, then admins and agents, by email."""
    return list(
        db.session.scalars(
            select(StaffUser)
            .where(StaffUser.tenant_id == tenant_id)
            .order_by(_ROLE_ORDER, StaffUser.email)
        )
    )


def member(tenant_id: int, member_id: int) -> StaffUser:
    return tenant_row(StaffUser, tenant_id, member_id, NO_SUCH_MEMBER)


def _parse_role(value: object) -> StaffRole:
    if value not in INVITABLE_ROLES:
        raise ValidationFailed(
            {"role": problem(staff_text("Role"), staff_text("choose admin or agent."))}
        )
    return StaffRole(value)


def invite(actor: StaffUser, email: object, role: object) -> StaffUser:
    """A new member, invited by email with a link to choose their name and password.
    Inviting an address whose invitation is still open sends a fresh link instead."""
    _require(
        actor,
        Permission.MANAGE_TEAM,
        staff_text("Your role (%(role)s) does not allow you to invite members."),
    )
    errors = FieldErrors()
    address = errors.check(normalize_email, email if isinstance(email, str) else "")
    chosen_role = errors.check(_parse_role, role)
    invited = None
    if address:
        existing = db.session.scalar(select(StaffUser).where(StaffUser.email == address))
        if existing is not None and (
            existing.tenant_id != actor.tenant_id or existing.status != StaffStatus.INVITED
        ):
            errors.errors["email"] = problem(staff_text("Email"), _has_an_account(address))
        invited = existing
    errors.raise_if_any()
    if invited is None:
        invited = StaffUser(
            tenant_id=actor.tenant_id,
            email=address,
            name="",
            status=StaffStatus.INVITED,
            password_hash=unusable_password_hash(),
        )
        db.session.add(invited)
    invited.role = chosen_role
    _send_link(invited, StaffTokenPurpose.INVITATION, address, created_by=actor)
    return invited


def _has_an_account(address: str) -> str:
    return staff_gettext("%(email)s already has a Followup account.", email=address)


def resend_invitation(actor: StaffUser, member_id: int) -> StaffUser:
    _require(
        actor,
        Permission.MANAGE_TEAM,
        staff_text("Your role (%(role)s) does not allow you to invite members."),
    )
    invited = member(actor.tenant_id, member_id)
    if invited.status != StaffStatus.INVITED:
        raise TransitionNotAllowed(
            staff_gettext("%(email)s accepted their invitation already.", email=invited.email)
        )
    _send_link(invited, StaffTokenPurpose.INVITATION, invited.email, created_by=actor)
    return invited


def cancel_invitation(actor: StaffUser, member_id: int) -> None:
    """An invitation not accepted yet is withdrawn: its link stops working."""
    _require(
        actor,
        Permission.MANAGE_TEAM,
        staff_text("Your role (%(role)s) does not allow you to withdraw invitations."),
    )
    invited = member(actor.tenant_id, member_id)
    if invited.status != StaffStatus.INVITED:
        raise TransitionNotAllowed(
            staff_gettext(
                "%(email)s accepted their invitation already: deactivate them instead.",
                email=invited.email,
            )
        )
    db.session.delete(invited)
    db.session.commit()


def _changeable(actor: StaffUser, member_id: int, refusal: str) -> StaffUser:
    """A member whose role or status `actor` may change: not the owner, not themselves.
    `refusal`: what a role that may not change members is told (`_require`)."""
    _require(actor, Permission.MANAGE_TEAM, refusal)
    target = member(actor.tenant_id, member_id)
    if target.role == StaffRole.OWNER:
        raise NotAllowed(
            staff_gettext(
                "The owner cannot be deactivated or given another role: the business needs "
                "one. The owner can hand ownership over to another member first."
            )
        )
    if target.id == actor.id:
        raise NotAllowed(staff_gettext("You cannot change your own role or deactivate yourself."))
    return target


def change_role(actor: StaffUser, member_id: int, role: object) -> StaffUser:
    target = _changeable(
        actor, member_id, staff_text("Your role (%(role)s) does not allow you to change roles.")
    )
    target.role = _parse_role(role)
    db.session.commit()
    return target


def deactivate(actor: StaffUser, member_id: int) -> StaffUser:
    """The member can no longer sign in; every session of theirs ends at once, their
    open links stop working, and their open requests go back to the team."""
    target = _changeable(
        actor,
        member_id,
        staff_text("Your role (%(role)s) does not allow you to deactivate members."),
    )
    if target.status != StaffStatus.ACTIVE:
        raise TransitionNotAllowed(_not_active(target))
    target.status = StaffStatus.DEACTIVATED
    target.end_sessions()
    _expire_links(target)
    given_back = followups.give_back_to_the_team(target, Actor(actor.display_name, actor.id))
    db.session.commit()
    if given_back:
        live.changed(target.tenant_id)
    return target


def reactivate(actor: StaffUser, member_id: int) -> StaffUser:
    target = _changeable(
        actor,
        member_id,
        staff_text("Your role (%(role)s) does not allow you to reactivate members."),
    )
    if target.status != StaffStatus.DEACTIVATED:
        raise TransitionNotAllowed(
            staff_gettext("%(email)s is not deactivated.", email=target.email)
        )
    target.status = StaffStatus.ACTIVE
    db.session.commit()
    return target


def _not_active(target: StaffUser) -> str:
    return staff_gettext("%(email)s is not an active member.", email=target.email)


def transfer_ownership(actor: StaffUser, member_id: int) -> StaffUser:
    """The owner hands the business over to an active member and becomes an admin."""
    _require(
        actor,
        Permission.MANAGE_OWNERSHIP,
        staff_text("Your role (%(role)s) does not allow you to hand over ownership."),
    )
    target = member(actor.tenant_id, member_id)
    if target.id == actor.id:
        raise TransitionNotAllowed(staff_gettext("You are the owner already."))
    if target.status != StaffStatus.ACTIVE:
        raise TransitionNotAllowed(_not_active(target))
    target.role = StaffRole.OWNER
    actor.role = StaffRole.ADMIN
    db.session.commit()
    return target


# --- one-time links ----------------------------------------------------------------------------


def _expire_links(member_: StaffUser, purpose: StaffTokenPurpose | None = None) -> None:
    now = utcnow()
    statement = update(StaffToken).where(
        StaffToken.staff_user_id == member_.id,
        StaffToken.used_at.is_(None),
        StaffToken.expires_at > now,
    )
    if purpose is not None:
        statement = statement.where(StaffToken.purpose == purpose)
    db.session.execute(
        statement.values(expires_at=now).execution_options(synchronize_session=False)
    )


def _new_link(
    member_: StaffUser,
    purpose: StaffTokenPurpose,
    created_by: StaffUser | None = None,
    new_email: str | None = None,
) -> StaffToken:
    db.session.flush()  # the member's id
    _expire_links(member_, purpose)  # only the newest link of a kind works
    nonce = StaffToken.new_nonce()
    now = utcnow()
    token = StaffToken(
        tenant_id=member_.tenant_id,
        staff_user_id=member_.id,
        purpose=purpose,
        nonce=nonce,
        token_hash=hash_link_token(link_token(nonce)),
        new_email=new_email,
        created_by_id=created_by.id if created_by else None,
        created_at=now,
        expires_at=now + VALID_FOR[purpose],
    )
    db.session.add(token)
    return token


def _send_link(
    member_: StaffUser,
    purpose: StaffTokenPurpose,
    address: str,
    created_by: StaffUser | None = None,
    new_email: str | None = None,
) -> StaffToken:
    """The link and the email carrying it, in one transaction; the email's job is
    queued after the commit (the outbox's sweep sends it should Redis be away)."""
    token = _new_link(member_, purpose, created_by, new_email)
    key = notifications.add_for_staff_link(token, KIND_OF[purpose], address)
    db.session.commit()
    notifications.dispatch([key])
    return token


def link_holder(raw_token: object, purpose: StaffTokenPurpose) -> StaffToken:
    """The link's row while it still works (to show its form); LinkInvalid otherwise."""
    if not isinstance(raw_token, str) or not 20 <= len(raw_token) <= 100:
        raise LinkInvalid
    token = db.session.scalar(
        select(StaffToken).where(StaffToken.token_hash == hash_link_token(raw_token))
    )
    if (
        token is None
        or token.purpose != purpose
        or token.used_at is not None
        or token.expires_at <= utcnow()
        # A link is its member's, in their business only.
        or token.tenant_id != token.staff_user.tenant_id
        or token.staff_user.status == StaffStatus.DEACTIVATED
    ):
        raise LinkInvalid
    return token


def _use(raw_token: object, purpose: StaffTokenPurpose) -> StaffToken:
    """Take the link for good: of two requests with the same link, one wins."""
    token = link_holder(raw_token, purpose)
    taken = db.session.execute(
        update(StaffToken)
        .where(StaffToken.id == token.id, StaffToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        db.session.rollback()
        raise LinkInvalid
    return token


def _name(value: object) -> str:
    return clean_text(value, "name", staff_text("Name"), required=True, max_length=200)


def accept_invitation(raw_token: object, name: object, password: object) -> StaffUser:
    """The invitee chooses their name and password and becomes an active member."""
    link_holder(raw_token, StaffTokenPurpose.INVITATION)
    errors = FieldErrors()
    clean_name = errors.check(_name, name)
    chosen = errors.check(new_password, password if isinstance(password, str) else None)
    errors.raise_if_any()
    token = _use(raw_token, StaffTokenPurpose.INVITATION)
    joined = token.staff_user
    if joined.status != StaffStatus.INVITED:
        db.session.rollback()
        raise LinkInvalid
    joined.name = clean_name
    joined.status = StaffStatus.ACTIVE
    joined.set_password(chosen, current_app.config["PASSWORD_HASH_METHOD"])
    db.session.commit()
    return joined


def request_password_reset(email: object) -> None:
    """Have a reset link emailed to the active member with this address, if there is
    one. This only queues the job, which looks the member up: the page answers the
    same, in the same time, whether or not the address is a member's."""
    try:
        address = normalize_email(email.strip() if isinstance(email, str) else "")
    except ValidationFailed:
        return  # no address at all: nobody to look up
    try:
        queue_password_reset(address)
    except RedisError as exc:
        log.warning("Password reset not queued (%s).", exc)
        raise TryAgainLater(
            staff_gettext("We could not send the link just now. Try again in a minute.")
        ) from exc


def email_password_reset(address: str) -> None:
    """For the job: the reset link to the active member with this address, through the
    outbox; nothing for anyone else."""
    found = db.session.scalar(select(StaffUser).where(StaffUser.email == address))
    if found is None or found.status != StaffStatus.ACTIVE or _reset_link_lately(found):
        return
    _send_link(found, StaffTokenPurpose.PASSWORD_RESET, found.email)


def _reset_link_lately(member_: StaffUser) -> bool:
    """An unused reset link made for the member within RESET_QUIET_FOR."""
    now = utcnow()
    return (
        db.session.scalar(
            select(StaffToken.id)
            .where(
                StaffToken.staff_user_id == member_.id,
                StaffToken.purpose == StaffTokenPurpose.PASSWORD_RESET,
                StaffToken.used_at.is_(None),
                StaffToken.expires_at > now,
                StaffToken.created_at > now - RESET_QUIET_FOR,
            )
            .limit(1)
        )
        is not None
    )


def reset_password(raw_token: object, password: object) -> StaffUser:
    """A new password from a reset link; every session of the member ends."""
    link_holder(raw_token, StaffTokenPurpose.PASSWORD_RESET)
    errors = FieldErrors()
    chosen = errors.check(new_password, password if isinstance(password, str) else None)
    errors.raise_if_any()
    token = _use(raw_token, StaffTokenPurpose.PASSWORD_RESET)
    member_ = token.staff_user
    member_.set_password(chosen, current_app.config["PASSWORD_HASH_METHOD"])
    db.session.commit()
    return member_


# --- a member's own account --------------------------------------------------------------------


def rename(member_: StaffUser, name: object) -> StaffUser:
    errors = FieldErrors()
    clean_name = errors.check(_name, name)
    errors.raise_if_any()
    member_.name = clean_name
    db.session.commit()
    return member_


def set_phone(member_: StaffUser, phone: object) -> StaffUser:
    """The member's own mobile number; empty takes it away."""
    text = phone.strip() if isinstance(phone, str) else ""
    member_.phone = normalize_phone(text, label=staff_text("Mobile number")) if text else None
    db.session.commit()
    return member_


def _current_password(member_: StaffUser, password: object) -> None:
    if not isinstance(password, str) or not member_.check_password(password):
        raise ValidationFailed(
            {
                "current_password": problem(
                    staff_text("Current password"), staff_text("that is not your password.")
                )
            }
        )


def request_email_change(member_: StaffUser, new_email: object, password: object) -> StaffToken:
    """A confirmation link goes to the new address; the email changes when it is opened."""
    errors = FieldErrors()
    errors.check(_current_password, member_, password)
    address = errors.check(normalize_email, new_email if isinstance(new_email, str) else "")
    if address == member_.email:
        advice = staff_text("that is your email already.")
        errors.errors["email"] = problem(staff_text("New email"), advice)
    elif address and db.session.scalar(select(StaffUser.id).where(StaffUser.email == address)):
        errors.errors["email"] = problem(staff_text("New email"), _has_an_account(address))
    errors.raise_if_any()
    return _send_link(member_, StaffTokenPurpose.EMAIL_CHANGE, address, new_email=address)


def confirm_email_change(raw_token: object) -> StaffUser:
    token = _use(raw_token, StaffTokenPurpose.EMAIL_CHANGE)
    member_ = token.staff_user
    taken = db.session.scalar(
        select(StaffUser.id).where(StaffUser.email == token.new_email, StaffUser.id != member_.id)
    )
    if taken:
        db.session.rollback()
        raise TransitionNotAllowed(
            staff_gettext("%(email)s has a Followup account of its own now.", email=token.new_email)
        )
    member_.email = token.new_email
    db.session.commit()
    return member_


def change_password(member_: StaffUser, current: object, password: object) -> StaffUser:
    """A new password; the member's other sessions end (the caller keeps this one)."""
    errors = FieldErrors()
    errors.check(_current_password, member_, current)
    chosen = errors.check(new_password, password if isinstance(password, str) else None)
    errors.raise_if_any()
    member_.set_password(chosen, current_app.config["PASSWORD_HASH_METHOD"])
    db.session.commit()
    return member_
