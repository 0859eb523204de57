"""Tenants: the businesses that use Followup, each with its slug and time zone."""

import re
from zoneinfo import available_timezones

from sqlalchemy import select

from followup.errors import NotFound, ValidationFailed
from followup.extensions import db
from followup.locales import staff_gettext, staff_text
from followup.models import Tenant
from followup.services.validation import (
    FieldErrors,
    clean_text,
    normalize_email,
    normalize_phone,
    problem,
)

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


SLUG = staff_text("Slug")


def _parse_slug(slug: str) -> str:
    if not SLUG_PATTERN.match(slug or ""):
        raise ValidationFailed(
            {
                "slug": problem(
                    SLUG,
                    staff_text(
                        "use 1-64 lowercase letters, digits and hyphens, "
                        "not starting or ending with a hyphen."
                    ),
                )
            }
        )
    return slug


def parse_timezone(name: str) -> str:
    if name not in available_timezones():
        advice = staff_gettext(
            '"%(name)s" is not a time zone we know; choose one like Europe/Berlin.', name=name
        )
        raise ValidationFailed({"timezone": problem(staff_text("Time zone"), advice)})
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
    name = errors.check(
        clean_text, name, "name", staff_text("Business name"), required=True, max_length=200
    )
    email = (
        errors.check(normalize_email, contact_email, "contact_email", staff_text("Contact email"))
        if contact_email
        else None
    )
    phone = (
        errors.check(normalize_phone, contact_phone, "contact_phone", staff_text("Contact phone"))
        if contact_phone
        else None
    )
    timezone = errors.check(parse_timezone, timezone)
    if slug and db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)):
        advice = staff_gettext("%(slug)s is taken by another business.", slug=slug)
        errors.errors["slug"] = problem(SLUG, advice)
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
        raise NotFound(staff_gettext("No tenant with slug %(slug)r.", slug=slug))
    return tenant
