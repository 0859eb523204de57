"""The tenant Settings page: business details and the website widget.

Each section is its own form and its own HTMX partial: a save swaps only that
section, a validation error re-renders it with 422 and the field errors, and a
plain form post (no JavaScript) gets the whole page back or a redirect to it.
"""

import base64

from flask import current_app, render_template, request, url_for
from flask_login import current_user

from followup.clock import utcnow
from followup.errors import ValidationFailed
from followup.htmx import answer, render
from followup.locales import NATIVE_NAMES, Language, staff_gettext
from followup.models import Tenant, response_promise
from followup.notify import email
from followup.services import (
    chats,
    reports,
    snippet,
    tenant_settings,
    widget_identity,
    widget_look,
)
from followup.services.permissions import Permission, allows
from followup.web.admin import bp, current_tenant, requires
from followup.web.admin.forms import BusinessForm, IdentityForm, LookForm, OriginsForm, VoiceForm

PAGE = "admin/settings/page.html"
BUSINESS_PARTIAL = "admin/settings/_business.html"
ORIGINS_PARTIAL = "admin/settings/_origins.html"
ROTATION_PARTIAL = "admin/settings/_secret.html"
IDENTITY_PARTIAL = "admin/settings/_identity.html"
VOICE_PARTIAL = "admin/settings/_voice.html"
LOOK_PARTIAL = "admin/settings/_look.html"
LOOK_PREVIEW_PARTIAL = "admin/settings/_look_preview.html"
PRICES_PARTIAL = "admin/settings/_prices.html"


def _business_form(tenant: Tenant, saved: bool = False) -> dict:
    return {"values": BusinessForm.values_of(tenant), "errors": {}, "saved": saved}


def _origins_form(tenant: Tenant, saved: bool = False) -> dict:
    return {"text": "\n".join(tenant.allowed_origins or []), "errors": {}, "saved": saved}


def _identity_form(tenant: Tenant, saved: bool = False) -> dict:
    return {"values": IdentityForm.values_of(tenant), "errors": {}, "saved": saved}


def _voice_form(tenant: Tenant, saved: bool = False) -> dict:
    return {"values": VoiceForm.values_of(tenant), "errors": {}, "saved": saved}


def _saved_look(tenant: Tenant) -> widget_look.Preview:
    return widget_look.Preview(widget_look.look_of(tenant.id), chats.web_widget_agent_name(tenant))


def _look_form(tenant: Tenant, saved: bool = False) -> dict:
    shown = _saved_look(tenant)
    look = shown.look
    values = {
        "accent": look.accent,
        "position": look.position,
        "agent_name": shown.agent_name,
        "greeting": look.greeting or "",
        "offline_message": look.offline_message or "",
        "remove_avatar": False,
        "preview_offline": False,
    }
    return {
        "values": values,
        "errors": {},
        "saved": saved,
        "avatar_src": _avatar_src(tenant, shown),
        # What an empty greeting gives, with the saved name.
        "default_greeting": widget_look.greeting_text(
            widget_look.Look(), shown.agent_name, tenant.name
        ),
        # Only when the AI answers does the header read differently offline.
        "ai_answers": chats.widget_presence(tenant) == chats.Presence.AI,
        # The saved look: the preview frame loads it from its own address.
        "preview": {"html": None, "position": look.position, "problems": {}},
    }


def _avatar_src(tenant: Tenant, shown: widget_look.Preview) -> str | None:
    """The header picture's address: an unsaved one inline (the widget's CSP allows
    data: images), a saved one from the widget's own URL."""
    if shown.picture:
        data, content_type = shown.picture
        return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"
    digest = shown.look.avatar_digest
    if digest is None:
        return None
    return url_for("widget.avatar", public_key=tenant.widget_public_key, digest=digest)


def _widget_page(tenant: Tenant, shown: widget_look.Preview, offline: bool = False) -> str:
    """The widget's own page showing `shown`: a picture of the chat (its scripts are
    left out, so it starts none) for the preview beside the Look form."""
    presence = chats.offline_presence(tenant) if offline else chats.widget_presence(tenant)
    return render_template(
        "widget/page.html",
        tenant=tenant,
        allowed_origins=[],
        presence=presence,
        look=shown.look,
        avatar_src=_avatar_src(tenant, shown),
        agent_name=shown.agent_name,
        preview=True,
        greeting=widget_look.greeting_text(shown.look, shown.agent_name, tenant.name),
    )


def _uploaded_picture() -> bytes | None:
    upload = request.files.get("avatar")
    if upload is None or not upload.filename:
        return None
    # A byte past the limit tells it is too big: a huge file stays in werkzeug's
    # temporary file, never all in memory.
    return upload.read(widget_look.MAX_PICTURE_BYTES + 1)


def _prices_form(tenant: Tenant, saved: bool = False) -> dict:
    return {"rows": reports.price_rows(tenant.id), "typed": {}, "errors": {}, "saved": saved}


def _posted_prices() -> dict[str, tuple[str | None, str | None]]:
    """{model: (input price, output price)} as typed, a row per model listed and one
    for another model (its name typed; left blank, it is no row)."""
    form = request.form
    rows = zip(form.getlist("model"), form.getlist("input"), form.getlist("output"), strict=False)
    return {model: (per_input, per_output) for model, per_input, per_output in rows}


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
        "voice": _voice_form(tenant),
        "voice_modes": {
            mode: staff_gettext(label) for mode, label in tenant_settings.VOICE_MODE_CHOICES.items()
        },
        "look": _look_form(tenant),
        "prices": _prices_form(tenant),
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


@bp.post("/settings/voice")
@requires(Permission.MANAGE_SETTINGS)
def settings_voice():
    values = VoiceForm.posted().data
    try:
        tenant = tenant_settings.update_voice_mode(current_tenant().id, values["voice_mode"])
    except ValidationFailed as exc:
        return _invalid(VOICE_PARTIAL, voice=_refused(exc, values=values))
    return _saved(VOICE_PARTIAL, voice=_voice_form(tenant, saved=True))


@bp.post("/settings/look")
@requires(Permission.MANAGE_SETTINGS)
def settings_look():
    form = LookForm.posted()
    values = form.data
    try:
        widget_look.update_look(
            current_tenant().id, values, _uploaded_picture(), form.remove_avatar.data
        )
    except ValidationFailed as exc:
        tenant = current_tenant()
        refused = _look_form(tenant) | {"values": values, "errors": exc.fields}
        return _invalid(LOOK_PARTIAL, look=refused)
    return _saved(LOOK_PARTIAL, look=_look_form(current_tenant(), saved=True))


@bp.get("/settings/look/preview")
@requires(Permission.MANAGE_SETTINGS)
def settings_look_preview_page():
    """The saved look, as the preview frame first shows it."""
    return _widget_page(current_tenant(), _saved_look(current_tenant()))


@bp.post("/settings/look/preview")
@requires(Permission.MANAGE_SETTINGS)
def settings_look_preview():
    """The preview of the form's unsaved values, in a new frame (a new frame adds no
    step to the browser's history). Values it refuses leave the saved look in it, with why."""
    tenant = current_tenant()
    form = LookForm.posted()
    problems = {}
    try:
        shown = widget_look.preview(
            tenant.id, form.data, _uploaded_picture(), form.remove_avatar.data
        )
    except ValidationFailed as exc:
        shown, problems = _saved_look(tenant), exc.fields
    html = _widget_page(tenant, shown, form.preview_offline.data)
    preview = {"html": html, "position": shown.look.position, "problems": problems}
    return render_template(LOOK_PREVIEW_PARTIAL, look={"preview": preview})


@bp.post("/settings/model-prices")
@requires(Permission.MANAGE_SETTINGS)
def settings_model_prices():
    """The price per million tokens of each model, for the reports' estimated AI cost."""
    prices = _posted_prices()
    tenant = current_tenant()
    try:
        reports.save_prices(tenant.id, prices)
    except ValidationFailed as exc:
        refused = _prices_form(tenant) | {"typed": prices, "errors": exc.fields}
        return _invalid(PRICES_PARTIAL, prices=refused)
    return _saved(PRICES_PARTIAL, prices=_prices_form(tenant, saved=True))
