"""Staff accounts: creating them, their passwords, signing in and out."""

import secrets
from functools import cache

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from followup.clock import utcnow
from followup.errors import NotFound, ValidationFailed
from followup.extensions import db
from followup.locales import staff_gettext, staff_text
from followup.models import StaffRole, StaffStatus, StaffUser
from followup.services.tenants import tenant_by_slug
from followup.services.validation import FieldErrors, normalize_email, problem

# ASVS L1. Checked where a password is set, not at login: older, shorter ones still work.
MIN_PASSWORD_LENGTH = 12


def new_password(password: str | None) -> str:
    if password is None or len(password) < MIN_PASSWORD_LENGTH:
        advice = staff_gettext("use at least %(least)s characters.", least=MIN_PASSWORD_LENGTH)
        raise ValidationFailed({"password": problem(staff_text("Password"), advice)})
    return password


def create_staff_user(
    tenant_slug: str, email: str, password: str, name: str = "", role: str | None = None
) -> StaffUser:
    """Add a staff account; the tenant's first account is its owner, later ones are
    admins unless `role` says otherwise (an owner stays the only one)."""
    tenant = tenant_by_slug(tenant_slug)
    errors = FieldErrors()
    email = errors.check(normalize_email, email)
    errors.check(new_password, password)
    if email and db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
        advice = staff_gettext("a staff account for %(email)s already exists.", email=email)
        errors.errors["email"] = problem(staff_text("Email"), advice)
    if role is not None and role not in (StaffRole.ADMIN, StaffRole.AGENT):
        errors.errors["role"] = problem(staff_text("Role"), staff_text("choose admin or agent."))
    errors.raise_if_any()
    has_owner = db.session.scalar(
        select(func.count()).select_from(StaffUser).where(StaffUser.tenant_id == tenant.id)
    )
    user = StaffUser(
        tenant_id=tenant.id,
        email=email,
        name=name,
        role=(role or StaffRole.ADMIN) if has_owner else StaffRole.OWNER,
    )
    user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
    db.session.add(user)
    db.session.commit()
    return user


def set_staff_password(email: str, password: str) -> StaffUser:
    """A new password for a staff member, who is signed out everywhere."""
    errors = FieldErrors()
    email = errors.check(normalize_email, email)
    errors.check(new_password, password)
    errors.raise_if_any()
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    if user is None:
        raise NotFound(staff_gettext("No staff account for %(email)s.", email=email))
    user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
    db.session.commit()
    return user


def end_sessions(user: StaffUser) -> None:
    """Every session of this member ends (logout, and whatever else must lock them out)."""
    user.end_sessions()
    db.session.commit()


def unusable_password_hash() -> str:
    """For a member invited but not joined yet: no password opens it."""
    return generate_password_hash(
        secrets.token_urlsafe(32), current_app.config["PASSWORD_HASH_METHOD"]
    )


@cache
def _unmatchable_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(32), method)


def authenticate(email: str, password: str) -> StaffUser | None:
    """The staff user with these credentials, or None (same answer for both mistakes)."""
    password = password or ""
    try:
        address = normalize_email(email or "")
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == address))
    except ValidationFailed:
        user = None
    if user is None:
        # As much work as a wrong password, so the time taken does not tell whether
        # the email has an account.
        check_password_hash(_unmatchable_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return None
    if not user.check_password(password) or user.status != StaffStatus.ACTIVE:
        # Invited (no password yet) or deactivated: the same answer as a wrong password.
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user
