import secrets
from datetime import datetime
from enum import StrEnum

from flask_babel import ngettext
from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from followup.clock import utcnow
from followup.extensions import db
from followup.locales import Language
from followup.models.base import UTCDateTime, one_of

DEFAULT_RESPONSE_TIME_HOURS = 24
RESPONSE_TIME_HOURS_RANGE = (1, 168)


class VoiceMode(StrEnum):
    """Where the widget's voice mode turns speech into text and text into speech."""

    AUTOMATIC = "automatic"  # the browser's own speech APIs where it has them, else our server
    BROWSER = "browser"  # the browser only: no mic where it lacks speech recognition
    SERVER = "server"  # always recorded and sent to the model server (audio endpoints)


def new_widget_public_key() -> str:
    return "pk_" + secrets.token_urlsafe(18)


def new_widget_secret() -> str:
    return "ws_" + secrets.token_urlsafe(32)


def response_promise(tenant: "Tenant") -> str:
    """When the team answers a follow-up: said once around a request, where it is made
    (the form, or the capture in conversation), in the thank-you once it is sent and in
    the customer's confirmation email."""
    hours = tenant.response_time_hours
    return ngettext(
        "We'll contact you within %(num)d hour.", "We'll contact you within %(num)d hours.", hours
    )


class Tenant(db.Model):
    """A business. Everything else belongs to exactly one tenant."""

    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint(
            f"response_time_hours BETWEEN {RESPONSE_TIME_HOURS_RANGE[0]} "
            f"AND {RESPONSE_TIME_HOURS_RANGE[1]}",
            name="response_time_hours_range",
        ),
        one_of("voice_mode", VoiceMode),
        one_of("visitor_locale", Language),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    sms_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    widget_public_key: Mapped[str] = mapped_column(
        String(64), unique=True, default=new_widget_public_key
    )
    widget_secret: Mapped[str] = mapped_column(String(128), default=new_widget_secret)
    # The secret before the last rotation, still accepted for a grace period after it
    # (services/widget_identity.py): websites get time to deploy the new one.
    previous_widget_secret: Mapped[str | None] = mapped_column(String(128))
    widget_secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # On: the widget chats only with visitors the website signed in (HMAC or JWT);
    # others are asked to sign in at `sign_in_url` first.
    require_verified_identity: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    sign_in_url: Mapped[str | None] = mapped_column(String(2000))
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    followups_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    response_time_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_RESPONSE_TIME_HOURS)
    # Email the customer "We'll contact you within X hours" when a request is made.
    customer_confirmation_enabled: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    # Ask the customer "How did we do?" when their request is resolved.
    satisfaction_survey_enabled: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    # The language of the widget, emails and SMS for visitors whose website and browser
    # name none we serve (followup.locales.Language).
    visitor_locale: Mapped[str] = mapped_column(
        String(5), default=Language.ENGLISH, server_default="en"
    )
    # The owner's rule: every member signs in with a code from an authenticator app too.
    require_two_factor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where the widget was last loaded from (scheme://host[:port] of the host page) and
    # when, so the owner can check the snippet works: services/snippet.py writes it.
    widget_seen_origin: Mapped[str | None] = mapped_column(String(300))
    widget_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voice_mode: Mapped[str] = mapped_column(
        String(16), default=VoiceMode.AUTOMATIC, server_default=VoiceMode.AUTOMATIC
    )

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"
