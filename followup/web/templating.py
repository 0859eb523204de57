"""Jinja filters for times, statuses and phone numbers, shared by every page."""

import uuid
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import Flask
from flask_babel import format_timedelta, get_locale, gettext

from followup.clock import iso_utc
from followup.locales import mark, staff_gettext, staff_ngettext, staff_text
from followup.models import (
    ActionType,
    Channel,
    DeliveryState,
    Mode,
    PromiseState,
    Role,
    Status,
)
from followup.services import notifications, promise, senders, visitors
from followup.services.conversations import ChainStatus
from followup.services.validation import international_phone

# Each unit's size, and its words for `time_ago`.
_UNITS = (
    (86400, staff_text("%(num)s day ago"), staff_text("%(num)s days ago")),
    (3600, staff_text("%(num)s hour ago"), staff_text("%(num)s hours ago")),
    (60, staff_text("%(num)s minute ago"), staff_text("%(num)s minutes ago")),
)
# The months as staff read them in a date ("Nov 21, 2026"), each shown through gettext.
_MONTHS = (
    staff_text("Jan"),
    staff_text("Feb"),
    staff_text("Mar"),
    staff_text("Apr"),
    staff_text("May"),
    staff_text("Jun"),
    staff_text("Jul"),
    staff_text("Aug"),
    staff_text("Sep"),
    staff_text("Oct"),
    staff_text("Nov"),
    staff_text("Dec"),
)


def time_ago(moment: datetime, now: datetime) -> str:
    """ "5 minutes ago", "3 days ago": how long ago, in the largest whole unit."""
    seconds = int((now - moment).total_seconds())
    for size, singular, plural in _UNITS:
        if seconds >= size:
            return staff_ngettext(singular, plural, seconds // size)
    return staff_gettext("just now")


def local_datetime(moment: datetime | None, timezone: str) -> str:
    """A timestamp in the tenant's time zone, e.g. "Nov 21, 2026 14:05 CET"."""
    if moment is None:
        return "—"
    local = moment.astimezone(ZoneInfo(timezone))
    # Written out rather than strftime("%b %-d, %Y %H:%M %Z"): about 40% cheaper, once
    # per card, and English whatever the server's locale.
    month = staff_gettext(_MONTHS[local.month - 1])
    return f"{month} {local.day}, {local.year} {local.hour:02d}:{local.minute:02d} {local.tzname()}"


def ago(moment: datetime, now: datetime) -> str:
    """ "12 s ago", "2 min ago", "3 h ago", "4 days ago": short, for status tables."""
    seconds = max(int((now - moment).total_seconds()), 0)
    if seconds < 60:
        return staff_gettext("%(seconds)s s ago", seconds=seconds)
    if seconds < 3600:
        return staff_gettext("%(minutes)s min ago", minutes=seconds // 60)
    if seconds < 86400:
        return staff_gettext("%(hours)s h ago", hours=seconds // 3600)
    return staff_ngettext("%(num)s day ago", "%(num)s days ago", seconds // 86400)


def local_clock(moment: datetime, timezone: str, now: datetime) -> str:
    """ "14:02" today in the tenant's time zone, "Dec 5 14:02" another day."""
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if local.date() == now.astimezone(zone).date():
        return clock
    return f"{staff_gettext(_MONTHS[local.month - 1])} {local.day} {clock}"


def visitor_time_ago(moment: datetime, now: datetime) -> str:
    """ "5 minutes ago", "vor 5 Minuten": how long ago, in the visitor's language."""
    if (now - moment).total_seconds() < 60:
        return gettext("just now")
    return format_timedelta(moment - now, add_direction=True)


def current_locale() -> str:
    """The page's language, for <html lang>."""
    return str(get_locale() or "en")


def visitor_datetime(moment: datetime, timezone: str) -> str:
    """A date and time in the business's time zone, written as the visitor's language
    writes them ("7 déc. 2026, 14:05")."""
    return format_datetime(moment, "medium", tzinfo=ZoneInfo(timezone), locale=get_locale())


# A request's status as its customer reads it (the widget's "My requests").
_STATUS_LABELS = {
    Status.PENDING: mark("Pending"),
    Status.CONTACTED: mark("Contacted"),
    Status.RESOLVED: mark("Resolved"),
    Status.CANCELLED: mark("Cancelled"),
}


def customer_status_label(status: str) -> str:
    label = _STATUS_LABELS.get(status)
    return gettext(label) if label else status


def short_address(address: str, limit: int = 60) -> str:
    """The host and path of a web address, for a line in a list (the chat shows it whole)."""
    parts = urlsplit(address)
    text = parts.netloc + parts.path.rstrip("/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(local_datetime, "local_datetime")
    app.add_template_filter(iso_utc, "iso_utc")
    # Numbers are stored in E.164 (+442071838750) and shown as +44 20 7183 8750.
    app.add_template_filter(international_phone, "phone")
    app.add_template_global(time_ago, "time_ago")
    # What customers read, in their language (followup.web.locale).
    app.add_template_global(visitor_time_ago, "visitor_time_ago")
    app.add_template_global(visitor_datetime, "visitor_datetime")
    app.add_template_global(customer_status_label, "customer_status_label")
    app.add_template_global(current_locale, "current_locale")
    app.add_template_global(ago, "ago")
    app.add_template_global(local_clock, "local_clock")
    # A pending request's "due in 3 h" / "overdue by 20 min" (services/promise.py).
    app.add_template_global(promise.clock_of, "promise_clock")
    app.add_template_global(notifications.label_of, "notification_label")
    app.add_template_global(lambda: uuid.uuid4().hex, "new_form_id")
    app.add_template_filter(short_address, "short_address")
    # The one way chats and customers are named on every page (services/visitors.py).
    app.add_template_global(visitors.display_name, "chat_name")
    app.add_template_global(visitors.chat_label, "chat_label")
    app.add_template_global(visitors.customer_name, "customer_name")
    # "Anna · Acme team" above a staff reply in the widget.
    app.add_template_global(senders.staff_sender, "staff_sender")
    # The models' domain values, so a template compares with ActionType.FOLLOWUP_FORM, not a
    # bare string of its own.
    for enum in (ActionType, ChainStatus, Channel, DeliveryState, Mode, PromiseState, Role):
        app.add_template_global(enum, enum.__name__)
