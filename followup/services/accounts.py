"""Tenants, staff accounts and API tokens."""

import re
import secrets
from functools import cache
from zoneinfo import available_timezones

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from followup.clock import utcnow
from followup.errors import NotFound, ValidationFailed
from followup.extensions import db
from followup.models import ROLE_OWNER, ROLE_STAFF, ApiToken, StaffUser, Tenant, hash_api_token
from followup.services.validation import (
    FieldErrors,
    clean_text,
    normalize_email,
    normalize_phone,
    problem,
)

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
# ASVS L1. Checked where a password is set, not at login: older, shorter ones still work.
MIN_PASSWORD_LENGTH = 12


def _parse_slug(slug: str) -> str:
    if not SLUG_PATTERN.match(slug or ""):
        raise ValidationFailed(
            {
                "slug": problem(
                    "Slug",
                    "use 1-64 lowercase letters, digits and hyphens, "
                    "not starting or ending with a hyphen.",
                )
            }
        )
    return slug


def parse_timezone(name: str) -> str:
    if name not in available_timezones():
        advice = f'"{name}" is not a time zone we know; choose one like Europe/Berlin.'
        raise ValidationFailed({"timezone": problem("Time zone", advice)})
    return name


def create_tenant(
    slug: str,
    name: str,
    contact_email: str | None = None,
    contact_phone: str | None = None,
    sms_enabled: bool = False,
    timezone: str = "UTC",
) -> Tenant:
    errors = FieldErrors()
    slug = errors.check(_parse_slug, slug)
    name = errors.check(clean_text, name, "name", "Business name", required=True, max_length=200)
    email = (
        errors.check(normalize_email, contact_email, "contact_email", "Contact email")
        if contact_email
        else None
    )
    phone = (
        errors.check(normalize_phone, contact_phone, "contact_phone", "Contact phone")
        if contact_phone
        else None
    )
    timezone = errors.check(parse_timezone, timezone)
    if slug and db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)):
        errors.errors["slug"] = problem("Slug", f"{slug} is taken by another business.")
    errors.raise_if_any()
    tenant = Tenant(
        slug=slug,
        name=name,
        contact_email=email,
        contact_phone=phone,
        sms_enabled=sms_enabled,
        timezone=timezone,
    )
    db.session.add(tenant)
    db.session.commit()
    return tenant


def tenant_by_slug(slug: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"No tenant with slug {slug!r}.")
    return tenant


def _new_password(password: str | None) -> str:
    if password is None or len(password) < MIN_PASSWORD_LENGTH:
        advice = f"use at least {MIN_PASSWORD_LENGTH} characters."
        raise ValidationFailed({"password": problem("Password", advice)})
    return password


def create_staff_user(tenant_slug: str, email: str, password: str, name: str = "") -> StaffUser:
    """Add a staff account; the tenant's first account is its owner."""
    tenant = tenant_by_slug(tenant_slug)
    errors = FieldErrors()
    email = errors.check(normalize_email, email)
    errors.check(_new_password, password)
    if email and db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
        errors.errors["email"] = problem("Email", f"a staff account for {email} already exists.")
    errors.raise_if_any()
    has_owner = db.session.scalar(
        select(func.count()).select_from(StaffUser).where(StaffUser.tenant_id == tenant.id)
    )
    user = StaffUser(
        tenant_id=tenant.id, email=email, name=name, role=ROLE_STAFF if has_owner else ROLE_OWNER
    )
    user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
    db.session.add(user)
    db.session.commit()
    return user


def set_staff_password(email: str, password: str) -> StaffUser:
    """A new password for a staff member, who is signed out everywhere."""
    errors = FieldErrors()
    email = errors.check(normalize_email, email)
    errors.check(_new_password, password)
    errors.raise_if_any()
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    if user is None:
        raise NotFound(f"No staff account for {email}.")
    user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
    db.session.commit()
    return user


def end_sessions(user: StaffUser) -> None:
    """Every session of this member ends (logout, and whatever else must lock them out)."""
    user.end_sessions()
    db.session.commit()


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
    if not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def create_api_token(tenant_slug: str, name: str = "") -> str:
    """Create a token and return it in clear text; only its hash is kept."""
    tenant = tenant_by_slug(tenant_slug)
    token = ApiToken.generate()
    db.session.add(
        ApiToken(tenant_id=tenant.id, name=name, token_hash=hash_api_token(token), prefix=token[:8])
    )
    db.session.commit()
    return token


def api_tokens_of(tenant_slug: str) -> list[ApiToken]:
    """The tenant's tokens, oldest first, revoked ones included."""
    tenant = tenant_by_slug(tenant_slug)
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.tenant_id == tenant.id).order_by(ApiToken.id)
        )
    )


def revoke_api_token(token_id: int) -> ApiToken:
    """Revoke a token: the next request that sends it gets a 401. Revoking twice is a no-op."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No API token with id {token_id}.")
    token.revoked_at = token.revoked_at or utcnow()
    db.session.commit()
    return token


def api_token_for(token: str) -> ApiToken | None:
    return db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_api_token(token), ApiToken.revoked_at.is_(None)
        )
    )
