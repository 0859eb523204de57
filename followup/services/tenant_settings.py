"""The tenant's own settings: business details, widget origins, the widget secret.

Every function checks all its fields before it changes anything, so a form with
one bad field saves nothing and shows every problem at once.
"""

import ipaddress
import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from flask import current_app

from followup.clock import utcnow
from followup.errors import DomainError, ValidationFailed
from followup.extensions import db
from followup.locales import NATIVE_NAMES, Language, staff_gettext, staff_text
from followup.models import Tenant, VoiceMode
from followup.models.tenant import new_widget_secret
from followup.services import report_rollups
from followup.services.permissions import Permission, allows
from followup.services.tenants import parse_timezone
from followup.services.validation import (
    FieldErrors,
    clean_text,
    normalize_email,
    normalize_phone,
    problem,
    shorter,
)

MAX_ORIGINS = 50
ORIGINS = staff_text("Allowed website origins")
MAX_ORIGIN_LENGTH = 300
_DEFAULT_PORTS = {"http": 80, "https": 443}
SIGN_IN_URL = staff_text("Sign-in page")
SIGN_IN_URL_SHAPE = staff_text(
    "use a full https:// address, such as https://www.example.com/login."
)
NO_USER_NAMES = staff_text("leave out user names and passwords.")
MAX_SIGN_IN_URL_LENGTH = 2000
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class OwnerOnly(DomainError):
    code = "forbidden"
    http_status = 403

    def __init__(self, refusal: str) -> None:
        """`refusal`: a marked text, "Only the account owner can … Ask the owner to do it." """
        super().__init__(staff_gettext(refusal))


@cache
def timezone_choices() -> tuple[str, ...]:
    """Every IANA zone name, sorted, for the picker (reading them scans the disk once)."""
    return tuple(sorted(available_timezones()))


@dataclass(frozen=True)
class BusinessSettings:
    name: str
    contact_email: str | None
    contact_phone: str | None
    timezone: str
    sms_enabled: bool
    visitor_locale: Language | None  # None: not given, left as it is


CONTACT_EMAIL = staff_text("Contact email")
CONTACT_PHONE = staff_text("Contact phone")


def validate_business(data: dict) -> BusinessSettings:
    errors = FieldErrors()
    name = errors.check(
        clean_text,
        data.get("name"),
        "name",
        staff_text("Business name"),
        required=True,
        max_length=200,
    )
    email = errors.check(
        clean_text,
        data.get("contact_email"),
        "contact_email",
        CONTACT_EMAIL,
        required=False,
        max_length=320,
    )
    if email:
        email = errors.check(normalize_email, email, "contact_email", CONTACT_EMAIL)
    phone = errors.check(
        clean_text,
        data.get("contact_phone"),
        "contact_phone",
        CONTACT_PHONE,
        required=False,
        max_length=40,
    )
    if phone:
        phone = errors.check(normalize_phone, phone, "contact_phone", CONTACT_PHONE)
    timezone = errors.check(
        clean_text,
        data.get("timezone"),
        "timezone",
        staff_text("Time zone"),
        required=True,
        max_length=64,
    )
    if timezone:
        timezone = errors.check(parse_timezone, timezone)
    sms_enabled = bool(data.get("sms_enabled"))
    if sms_enabled and not phone and "contact_phone" not in errors.errors:
        # SMS notifications go to this number; without it the switch would do nothing.
        errors.errors["contact_phone"] = problem(
            CONTACT_PHONE, staff_text("add one to receive SMS notifications, or switch them off.")
        )
    visitor_locale = errors.check(_visitor_locale, data.get("visitor_locale"))
    errors.raise_if_any()
    return BusinessSettings(name, email, phone, timezone, sms_enabled, visitor_locale)


def _visitor_locale(value: object) -> Language | None:
    """The business's language for visitors whose website and browser name none we serve."""
    if value is None:
        return None
    try:
        return Language(value)
    except ValueError:
        choices = ", ".join(NATIVE_NAMES[language] for language in Language)
        advice = staff_gettext("choose one of %(choices)s.", choices=choices)
        label = staff_text("Default language for visitors")
        raise ValidationFailed({"visitor_locale": problem(label, advice)}) from None


def update_business(tenant_id: int, data: dict) -> Tenant:
    settings = validate_business(data)
    tenant = db.session.get(Tenant, tenant_id)
    tenant.name = settings.name
    tenant.contact_email = settings.contact_email
    tenant.contact_phone = settings.contact_phone
    if tenant.timezone != settings.timezone:
        report_rollups.forget(tenant_id)  # every local day moved
    tenant.timezone = settings.timezone
    tenant.sms_enabled = settings.sms_enabled
    if settings.visitor_locale is not None:
        tenant.visitor_locale = settings.visitor_locale
    db.session.commit()
    return tenant


def _origin_host(hostname: str) -> str | None:
    """The host as browsers write it in an Origin header, or None when it is not a host."""
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        pass
    else:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    try:
        # Browsers send internationalised names in their ASCII (punycode) form.
        ascii_host = hostname.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = ascii_host.rstrip(".").split(".")
    return ascii_host.rstrip(".") if all(_HOST_LABEL.match(label) for label in labels) else None


def normalize_origin(value: str) -> str:
    """`scheme://host[:port]` exactly as a browser's Origin header spells it.

    Lowercase scheme and host, no default port, no trailing slash: the widget's
    CSP `frame-ancestors` and CORS checks compare origins as plain strings.
    """
    shape = staff_gettext("use http:// or https://, a host and an optional port, with no path.")
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(shape) from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(shape)
    if parts.username is not None or parts.password is not None:
        raise ValueError(staff_gettext(NO_USER_NAMES))
    if parts.path not in ("", "/") or "?" in text or "#" in text:
        raise ValueError(shape)
    host = _origin_host(parts.hostname)
    if host is None:
        raise ValueError(
            staff_gettext("use a real host name, not %(host)s (no wildcards).", host=parts.hostname)
        )
    keep_port = port is not None and port != _DEFAULT_PORTS[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if keep_port else "")


def allowed_origin_of(tenant: Tenant, page_url: str | None) -> str | None:
    """The origin of `page_url` when it is one of the tenant's allowed website origins,
    else None. A page address comes from the visitor: only an origin the business
    listed names a site to anybody."""
    parts = urlsplit(page_url or "")
    try:
        origin = normalize_origin(f"{parts.scheme}://{parts.netloc}")
    except ValueError:
        return None
    return origin if origin in (tenant.allowed_origins or []) else None


def parse_origins(text: object) -> list[str]:
    """One origin per line; blank lines ignored, duplicates dropped, order kept."""
    if not isinstance(text, str):
        advice = staff_text("enter them as text.")
        raise ValidationFailed({"allowed_origins": problem(ORIGINS, advice)})
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_ORIGINS:
        advice = staff_gettext(
            "enter %(most)s or fewer (this has %(count)s).", most=MAX_ORIGINS, count=len(lines)
        )
        raise ValidationFailed({"allowed_origins": problem(ORIGINS, advice)})
    origins, problems = [], []
    for number, line in enumerate(lines, start=1):
        try:
            if len(line) > MAX_ORIGIN_LENGTH:
                raise ValueError(shorter(MAX_ORIGIN_LENGTH, len(line)))
            origin = normalize_origin(line)
        except ValueError as exc:
            problems.append(
                staff_gettext(
                    'on line %(number)s, "%(line)s", %(problem)s',
                    number=number,
                    line=line[:80],
                    problem=exc,
                )
            )
            continue
        if origin not in origins:
            origins.append(origin)
    if problems:
        raise ValidationFailed({"allowed_origins": problem(ORIGINS, "; ".join(problems))})
    return origins


def update_allowed_origins(tenant_id: int, text: object, staff_role: str) -> Tenant:
    """Which websites may show the widget: the owner's decision, like the secret's."""
    if not allows(staff_role, Permission.MANAGE_WIDGET_SECURITY):
        raise OwnerOnly(
            staff_text(
                "Only the account owner can change the allowed website origins. Ask the owner "
                "to do it."
            )
        )
    origins = parse_origins(text)
    tenant = db.session.get(Tenant, tenant_id)
    tenant.allowed_origins = origins
    db.session.commit()
    return tenant


def rotate_widget_secret(tenant_id: int, staff_role: str) -> Tenant:
    """A new secret at once; the one it replaces still verifies for the grace period
    (`widget_identity.SECRET_GRACE`). A second rotation within it ends the older
    secret's grace at once: only the last two secrets are ever kept."""
    if not allows(staff_role, Permission.MANAGE_WIDGET_SECURITY):
        raise OwnerOnly(
            staff_text(
                "Only the account owner can rotate the widget secret. Ask the owner to do it."
            )
        )
    tenant = db.session.get(Tenant, tenant_id)
    tenant.previous_widget_secret = tenant.widget_secret
    tenant.widget_secret_rotated_at = utcnow()
    tenant.widget_secret = new_widget_secret()
    db.session.commit()
    current_app.logger.info("Widget secret rotated for tenant %s", tenant.slug)
    return tenant


@dataclass(frozen=True)
class IdentitySettings:
    require_verified_identity: bool
    sign_in_url: str | None


def parse_sign_in_url(value: str) -> str:
    """An https page address on the website: the widget links visitors to it."""
    text = value.strip()
    if len(text) > MAX_SIGN_IN_URL_LENGTH:
        raise ValueError(shorter(MAX_SIGN_IN_URL_LENGTH, len(text)))
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - reading it checks the port is a number
    except ValueError:
        raise ValueError(staff_gettext(SIGN_IN_URL_SHAPE)) from None
    if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in text):
        raise ValueError(staff_gettext(SIGN_IN_URL_SHAPE))
    if parts.username is not None or parts.password is not None:
        raise ValueError(staff_gettext(NO_USER_NAMES))
    if _origin_host(parts.hostname) is None:
        raise ValueError(staff_gettext("use a real host name, not %(host)s.", host=parts.hostname))
    return text


def validate_identity(data: dict) -> IdentitySettings:
    required = bool(data.get("require_verified_identity"))
    raw = data.get("sign_in_url")
    if raw is not None and not isinstance(raw, str):
        advice = staff_text("enter it as text.")
        raise ValidationFailed({"sign_in_url": problem(SIGN_IN_URL, advice)})
    url = None
    if raw and raw.strip():
        try:
            url = parse_sign_in_url(raw)
        except ValueError as exc:
            raise ValidationFailed({"sign_in_url": problem(SIGN_IN_URL, str(exc))}) from None
    if required and url is None:
        # Visitors who are not signed in are sent there: without it they would be stuck.
        advice = staff_text(
            "add the page where visitors sign in, or switch off Require verified identity."
        )
        raise ValidationFailed({"sign_in_url": problem(SIGN_IN_URL, advice)})
    return IdentitySettings(required, url)


def update_widget_identity(tenant_id: int, data: dict, staff_role: str) -> Tenant:
    """Whether only visitors the website signed in may chat, and where the others sign
    in: the owner's decision, like the secret's (turning it off lets anybody chat)."""
    if not allows(staff_role, Permission.MANAGE_WIDGET_SECURITY):
        raise OwnerOnly(
            staff_text("Only the account owner can change who may chat. Ask the owner to do it.")
        )
    settings = validate_identity(data)
    tenant = db.session.get(Tenant, tenant_id)
    tenant.require_verified_identity = settings.require_verified_identity
    tenant.sign_in_url = settings.sign_in_url
    db.session.commit()
    return tenant


VOICE_MODE = staff_text("Speech recognition and spoken replies")  # as Settings labels it
# As Settings offers them, in this order.
VOICE_MODE_CHOICES = {
    VoiceMode.AUTOMATIC: staff_text(
        "Automatic: the browser's own speech where it has it, else our server"
    ),
    VoiceMode.BROWSER: staff_text("Browser only: no voice in browsers without speech recognition"),
    VoiceMode.SERVER: staff_text(
        "Server only: always through the AI model server's audio endpoints"
    ),
}


def update_voice_mode(tenant_id: int, value: object) -> Tenant:
    """Where the widget's voice mode turns speech into text and back."""
    if value not in set(VoiceMode):
        raise ValidationFailed(
            {"voice_mode": problem(VOICE_MODE, staff_text("choose one of the options."))}
        )
    tenant = db.session.get(Tenant, tenant_id)
    tenant.voice_mode = VoiceMode(value)
    db.session.commit()
    return tenant


def widget_snippet(tenant: Tenant) -> str:
    """The one line a website pastes to get the chat widget (CONTRACT.md)."""
    base = current_app.config["PUBLIC_BASE_URL"]
    return f'<script src="{base}/widget.js" data-key="{tenant.widget_public_key}" async></script>'
