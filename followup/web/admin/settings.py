"""The tenant Settings page: business details and the website widget.

Each section is its own form and its own HTMX partial: a save swaps only that
section, a validation error re-renders it with 422 and the field errors, and a
plain form post (no JavaScript) gets the whole page back or a redirect to it.
"""

from flask import current_app, url_for
from flask_login import current_user

from followup.clock import utcnow
from followup.errors import ValidationFailed
from followup.htmx import answer, render
from followup.locales import NATIVE_NAMES, Language
from followup.models import Tenant, response_promise
from followup.notify import email
from followup.services import snippet, tenant_settings, widget_identity
from followup.services.permissions import Permission, allows
from followup.web.admin import bp, current_tenant, requires
from followup.web.admin.forms import BusinessForm, IdentityForm, OriginsForm

PAGE = "admin/settings/page.html"
BUSINESS_PARTIAL = "admin/settings/_business.html"
ORIGINS_PARTIAL = "admin/settings/_origins.html"
ROTATION_PARTIAL = "admin/settings/_secret.html"
IDENTITY_PARTIAL = "admin/settings/_identity.html"


def _business_form(tenant: Tenant, saved: bool = False) -> dict:
    return {"values": BusinessForm.values_of(tenant), "errors": {}, "saved": saved}


def _origins_form(tenant: Tenant, saved: bool = False) -> dict:
    return {"text": "\n".join(tenant.allowed_origins or []), "errors": {}, "saved": saved}


def _identity_form(tenant: Tenant, saved: bool = False) -> dict:
    return {"values": IdentityForm.values_of(tenant), "errors": {}, "saved": saved}


def _refused(exc: ValidationFailed, **typed) -> dict:
    """A form's state after a refused save: what was typed, and why it was refused."""
    return typed | {"errors": exc.fields, "saved": False}


def _context(tenant: Tenant, **sections) -> dict:
    """Everything the page shows; `sections` replaces a form's state (errors, saved)."""
    return {
        "tenant": tenant,
        "snippet": tenant_settings.widget_snippet(tenant),
        "response_promise": response_promise(tenant),
        "timezones": tenant_settings.timezone_choices(),
        "visitor_languages": {language.value: NATIVE_NAMES[language] for language in Language},
        "is_owner": allows(current_user.role, Permission.MANAGE_WIDGET_SECURITY),
        "twilio_configured": bool(current_app.config.get("TWILIO_ACCOUNT_SID")),
        # Where emails go instead when there is no mail server; None: they are sent.
        "saved_mail_folder": email.mail_folder_label() if email.saves_to_files() else None,
        "business": _business_form(tenant),
        "origins": _origins_form(tenant),
        "secret": {"rotated": False},
        "now": utcnow(),
        "seen": snippet.last_seen(tenant),
        "seen_allowed": snippet.seen_on_allowed_origin(tenant),
        "identity": _identity_form(tenant),
        "previous_secret_until": widget_identity.previous_secret_valid_until(tenant),
        "secret_grace_hours": int(widget_identity.SECRET_GRACE.total_seconds() // 3600),
    } | sections


def _saved(partial: str, **sections):
    """HTMX gets the refreshed section; a plain form post goes back to the page."""
    return answer(
        lambda: render(PAGE, partial, **_context(current_tenant(), **sections)),
        page_url=url_for("admin.settings"),
    )


def _invalid(partial: str, **sections):
    """The form again with its errors (only the section for HTMX); nothing was saved."""
    return render(PAGE, partial, 422, **_context(current_tenant(), **sections))


@bp.get("/settings")
@requires(Permission.MANAGE_SETTINGS)
def settings():
    return render(PAGE, "admin/settings/_sections.html", **_context(current_tenant()))


@bp.post("/settings/business")
@requires(Permission.MANAGE_SETTINGS)
def settings_business():
    values = BusinessForm.posted().data
    try:
        tenant = tenant_settings.update_business(current_tenant().id, values)
    except ValidationFailed as exc:
        return _invalid(BUSINESS_PARTIAL, business=_refused(exc, values=values))
    return _saved(BUSINESS_PARTIAL, business=_business_form(tenant, saved=True))


@bp.post("/settings/origins")
@requires(Permission.MANAGE_SETTINGS)
def settings_origins():
    text = OriginsForm.posted().allowed_origins.data
    try:
        tenant = tenant_settings.update_allowed_origins(
            current_tenant().id, text, current_user.role
        )
    except ValidationFailed as exc:
        return _invalid(ORIGINS_PARTIAL, origins=_refused(exc, text=text))
    return _saved(ORIGINS_PARTIAL, origins=_origins_form(tenant, saved=True))


@bp.post("/settings/widget-secret")
@requires(Permission.MANAGE_SETTINGS)
def settings_widget_secret():
    tenant_settings.rotate_widget_secret(current_tenant().id, current_user.role)
    return _saved(ROTATION_PARTIAL, secret={"rotated": True})


@bp.post("/settings/identity")
@requires(Permission.MANAGE_SETTINGS)
def settings_identity():
    values = IdentityForm.posted().data
    try:
        tenant = tenant_settings.update_widget_identity(
            current_tenant().id, values, current_user.role
        )
    except ValidationFailed as exc:
        return _invalid(IDENTITY_PARTIAL, identity=_refused(exc, values=values))
    return _saved(IDENTITY_PARTIAL, identity=_identity_form(tenant, saved=True))
