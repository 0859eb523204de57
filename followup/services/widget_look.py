"""The business's look of its website chat: accent colour, header picture, launcher side,
greeting, offline message, and the name of the AI employee in the header.

Every function checks all its fields before it changes anything, so a form with one
bad field saves nothing and shows every problem at once. The accent must carry the
widget's white text at WCAG AA contrast (4.5:1); the picture must be a PNG, JPEG or
WebP (never SVG, which can carry scripts) of at most MAX_PICTURE_BYTES.
"""

import hashlib
import math
import re
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select

from followup.errors import NotFound, ValidationFailed
from followup.extensions import db
from followup.locales import staff_gettext, staff_text
from followup.models import (
    DEFAULT_ACCENT,
    Agent,
    LauncherPosition,
    Tenant,
    WidgetLook,
    website_agent_id,
)
from followup.services.agents import MAX_NAME
from followup.services.validation import FieldErrors, clean_text, problem

# The widget writes white on the accent (header, the visitor's bubbles, buttons).
TEXT_ON_ACCENT = "#ffffff"
MIN_CONTRAST = 4.5  # WCAG 2.x AA, normal text
MAX_GREETING = 500
MAX_OFFLINE_MESSAGE = 300
MAX_PICTURE_BYTES = 200 * 1024

# The Look form's labels, which its messages name.
ACCENT = staff_text("Accent colour")
POSITION = staff_text("Launcher position")
GREETING = staff_text("Greeting")
OFFLINE_MESSAGE = staff_text("Offline message")
AGENT_NAME = staff_text("AI employee's name")
PICTURE = staff_text("Header picture")

_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
# The first bytes of each picture type we take, as the file itself says, whatever its name.
_PICTURE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


@dataclass(frozen=True)
class Look:
    """The look as the widget shows it: the saved one, or unsaved values in a preview."""

    accent: str = DEFAULT_ACCENT
    position: str = LauncherPosition.RIGHT
    greeting: str | None = None
    offline_message: str | None = None
    avatar_digest: str | None = None


@dataclass(frozen=True)
class LookSettings:
    """What the Look form sends, checked."""

    accent: str
    position: str
    greeting: str | None
    offline_message: str | None
    agent_name: str


# --- colours ---------------------------------------------------------------------------------


def _rgb(colour: str) -> tuple[int, int, int]:
    digits = colour.lstrip("#")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(min(255, max(0, c))):02x}" for c in rgb)


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a `#rrggbb` colour: 0 for black, 1 for white."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.x contrast ratio of two `#rrggbb` colours, from 1 to 21."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def parse_accent(value: object) -> str:
    """`#rrggbb` in lower case (also from `#rgb` or without the #), dark enough for white
    text on it; ValueError with the advice otherwise."""
    text = value.strip() if isinstance(value, str) else ""
    match = _HEX_COLOUR.fullmatch(text)
    if not match:
        raise ValueError(
            staff_gettext("use a colour like #3451d1 (a # and six hexadecimal digits).")
        )
    digits = match.group(1).lower()
    colour = "#" + (digits if len(digits) == 6 else "".join(d * 2 for d in digits))
    ratio = contrast_ratio(TEXT_ON_ACCENT, colour)
    if ratio < MIN_CONTRAST:
        # Rounded down: a ratio of 4.46 must not read as the 4.5 it falls short of.
        shown = math.floor(ratio * 10) / 10
        raise ValueError(
            staff_gettext(
                "this colour is too light for white text on it (contrast %(ratio)s:1; "
                "needs %(needed)s:1). Pick a darker shade.",
                ratio=format(shown, ".1f"),
                needed=MIN_CONTRAST,
            )
        )
    return colour


def accent_shades(accent: str) -> dict[str, str]:
    """The widget's colours made from the accent: a darker one (hover; text on the soft
    one) and a soft one (backgrounds). Dark on soft stays above 4.5:1 for every accent
    `parse_accent` takes."""
    rgb = _rgb(accent)
    return {
        "accent": accent,
        "accent_dark": _hex(tuple(c * 0.8 for c in rgb)),
        "accent_soft": _hex(tuple(c * 0.1 + 255 * 0.9 for c in rgb)),
    }


# --- the header picture ----------------------------------------------------------------------


def picture_type(data: bytes) -> str | None:
    """The picture's type by its first bytes: PNG, JPEG or WebP; None for anything else."""
    for magic, content_type in _PICTURE_TYPES:
        if data.startswith(magic):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") and (b"<svg" in data[:4096].lower() or head.startswith(b"<?xml"))


def check_picture(data: bytes) -> str:
    """The picture's content type; ValidationFailed saying why it is refused. `data` may
    stop a byte past MAX_PICTURE_BYTES: more is never read."""
    if len(data) > MAX_PICTURE_BYTES:
        advice = staff_gettext(
            "keep it to %(kilobytes)s KB or less: save it smaller, or as WebP.",
            kilobytes=MAX_PICTURE_BYTES // 1024,
        )
        raise ValidationFailed({"avatar": problem(PICTURE, advice)})
    content_type = picture_type(data)
    if content_type is None:
        advice = (
            staff_text(
                "SVG pictures can carry scripts, so we do not take them: save it as PNG, JPEG "
                "or WebP."
            )
            if _looks_like_svg(data)
            else staff_text("use a PNG, JPEG or WebP picture.")
        )
        raise ValidationFailed({"avatar": problem(PICTURE, advice)})
    return content_type


def picture_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def avatar_of(public_key: str, digest: str) -> tuple[bytes, str]:
    """The header picture of the business with this widget key, when `digest` is its
    current one; NotFound otherwise (an old URL does not serve a replaced picture)."""
    row = db.session.execute(
        select(WidgetLook.avatar, WidgetLook.avatar_type)
        .join(Tenant, Tenant.id == WidgetLook.tenant_id)
        .where(Tenant.widget_public_key == public_key, WidgetLook.avatar_digest == digest)
    ).first()
    if row is None or row.avatar is None:
        raise NotFound(gettext("No such picture."))
    return row.avatar, row.avatar_type


# --- reading and saving ----------------------------------------------------------------------


def look_of(tenant_id: int) -> Look:
    """The saved look, or the default one."""
    saved = db.session.get(WidgetLook, tenant_id)
    if saved is None:
        return Look()
    return Look(
        accent=saved.accent,
        position=saved.position,
        greeting=saved.greeting,
        offline_message=saved.offline_message,
        avatar_digest=saved.avatar_digest,
    )


def greeting_text(look: Look, agent_name: str, business_name: str) -> str:
    """The first message of every website chat: the business's own, else ours. Never
    by the visitor's name: the website's signature covers the customer's id, not the
    name beside it, which may be anyone's (it only pre-fills the form)."""
    if look.greeting:
        return look.greeting
    return gettext(
        "Hi! I'm %(agent)s from %(business)s. How can I help you today?",
        agent=agent_name,
        business=business_name,
    )


def widget_agent(tenant_id: int) -> Agent | None:
    """The employee that answers the website chat (the same one services/chats.py picks)."""
    return db.session.scalar(select(Agent).where(Agent.id == website_agent_id(tenant_id)))


def _optional_text(errors: FieldErrors, data: dict, field: str, label: str, limit: int):
    return errors.check(clean_text, data.get(field), field, label, required=False, max_length=limit)


def validate_look(data: dict) -> LookSettings:
    errors = FieldErrors()
    accent = None
    try:
        accent = parse_accent(data.get("accent"))
    except ValueError as exc:
        errors.errors["accent"] = problem(ACCENT, str(exc))
    position = data.get("position")
    if position not in tuple(LauncherPosition):
        errors.errors["position"] = problem(
            POSITION, staff_text("choose bottom right or bottom left.")
        )
    first_message = _optional_text(errors, data, "greeting", GREETING, MAX_GREETING)
    offline = _optional_text(errors, data, "offline_message", OFFLINE_MESSAGE, MAX_OFFLINE_MESSAGE)
    agent_name = errors.check(
        clean_text,
        data.get("agent_name"),
        "agent_name",
        AGENT_NAME,
        required=True,
        max_length=MAX_NAME,
    )
    errors.raise_if_any()
    return LookSettings(accent, position, first_message, offline, agent_name)


def _checked(data: dict, picture: bytes | None) -> tuple[LookSettings, str | None]:
    """The form's values and the picture's type, every problem of both at once."""
    errors = FieldErrors()
    settings = errors.check(validate_look, data)
    picture_type_ = errors.check(check_picture, picture) if picture else None
    errors.raise_if_any()
    return settings, picture_type_


def update_look(
    tenant_id: int, data: dict, picture: bytes | None = None, remove_picture: bool = False
) -> Look:
    """Save the look; `picture`: a new header picture (None or empty: keep the one there
    is, unless `remove_picture`). Nothing changes unless every field is right."""
    settings, picture_type_ = _checked(data, picture)
    look = db.session.get(WidgetLook, tenant_id) or WidgetLook(tenant_id=tenant_id)
    look.accent, look.position = settings.accent, settings.position
    look.greeting, look.offline_message = settings.greeting, settings.offline_message
    if picture:
        look.avatar, look.avatar_type = picture, picture_type_
        look.avatar_digest = picture_digest(picture)
    elif remove_picture:
        look.avatar = look.avatar_type = look.avatar_digest = None
    db.session.add(look)
    _name_widget_agent(tenant_id, settings.agent_name)
    db.session.commit()
    return look_of(tenant_id)


def _name_widget_agent(tenant_id: int, name: str) -> None:
    agent = widget_agent(tenant_id)
    if agent is None:
        # The one the first website chat would create, with the name chosen here.
        db.session.add(Agent(tenant_id=tenant_id, name=name, serves_web_widget=True))
    else:
        agent.name = name


# --- the preview ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """Unsaved values as the widget would show them (Settings' live preview)."""

    look: Look
    agent_name: str
    # A picture chosen but not saved yet: its bytes and type.
    picture: tuple[bytes, str] | None = None


def preview(
    tenant_id: int, data: dict, picture: bytes | None = None, remove_picture: bool = False
) -> Preview:
    """The look the form's values would give, checked as a save checks them (the same
    ValidationFailed); nothing is saved."""
    settings, picture_type_ = _checked(data, picture)
    saved_digest = look_of(tenant_id).avatar_digest
    look = Look(
        accent=settings.accent,
        position=settings.position,
        greeting=settings.greeting,
        offline_message=settings.offline_message,
        avatar_digest=None if picture or remove_picture else saved_digest,
    )
    return Preview(look, settings.agent_name, (picture, picture_type_) if picture else None)
