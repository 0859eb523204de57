"""A request's activity: staff notes (add; edit or delete your own for a while), the
record of assignment and priority changes, and the timeline that reads them together
with the status changes and the notification outcomes, newest first."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup, escape
from sqlalchemy import select

from followup.clock import utcnow
from followup.errors import DomainError, NotFound, ValidationFailed
from followup.extensions import db
from followup.locales import staff_gettext, staff_ngettext, staff_text
from followup.models import (
    ActivityKind,
    DeliveryState,
    FollowUpActivity,
    FollowUpRequest,
    FollowUpStatusChange,
    Notification,
    SatisfactionRating,
)
from followup.services import live
from followup.services.followup_limits import MAX_NOTES, MAX_NOTES_VERSION
from followup.services.queries import lock_row
from followup.services.validation import clean_text, number_in_range, problem

# A note may be edited or deleted by its author for this long after writing it.
EDIT_WINDOW = timedelta(minutes=15)
MAX_NOTE = MAX_NOTES
NOTE = staff_text("Note")  # the field's label, which its messages name


@dataclass(frozen=True)
class Actor:
    """Who did something: a staff member, an API token, the system."""

    label: str
    staff_user_id: int | None = None


class NoteChangedMeanwhile(DomainError):
    """An edit or delete based on a note that changed since it was read."""

    code = "note_conflict"
    http_status = 409

    def __init__(self, note: FollowUpActivity):
        super().__init__(
            staff_gettext("Someone changed this note since you read it: here it is as it is now.")
        )
        self.note = note


class NoteLocked(DomainError):
    """An edit or delete of someone else's note, or of one older than the edit window."""

    code = "note_locked"
    http_status = 403


def clean_note(text: object) -> str:
    return clean_text(text, "text", NOTE, required=True, max_length=MAX_NOTE)


def record(
    followup: FollowUpRequest,
    kind: ActivityKind,
    author: Actor,
    *,
    text: str = "",
    from_value: str | None = None,
    to_value: str | None = None,
    at: datetime | None = None,
) -> FollowUpActivity:
    """Add an entry to the request's activity, in the caller's transaction."""
    entry = FollowUpActivity(
        tenant_id=followup.tenant_id,
        followup_id=followup.id,
        kind=kind,
        staff_user_id=author.staff_user_id,
        actor_label=author.label,
        text=text,
        from_value=from_value,
        to_value=to_value,
        version=0,
        created_at=at or utcnow(),
    )
    db.session.add(entry)
    return entry


def add_note(followup: FollowUpRequest, text: object, author: Actor) -> FollowUpActivity:
    """A new note on the request (plain text), committed."""
    note = record(followup, ActivityKind.NOTE, author, text=clean_note(text))
    db.session.commit()
    live.changed(followup.tenant_id)  # every open admin page shows it
    return note


def notes_of(tenant_id: int, followup_id: int) -> list[FollowUpActivity]:
    """The request's notes that are not deleted, newest first."""
    return list(
        db.session.scalars(
            select(FollowUpActivity)
            .where(
                FollowUpActivity.tenant_id == tenant_id,
                FollowUpActivity.followup_id == followup_id,
                FollowUpActivity.kind == ActivityKind.NOTE,
                FollowUpActivity.deleted_at.is_(None),
            )
            .order_by(FollowUpActivity.created_at.desc(), FollowUpActivity.id.desc())
        )
    )


def _parse_version(value: object) -> int:
    number = number_in_range(value, 0, MAX_NOTES_VERSION)
    if number is None:
        raise ValidationFailed(
            {
                "version": problem(
                    staff_text("Version"), staff_text("use the whole number read with the note.")
                )
            }
        )
    return number


def may_change(note: FollowUpActivity, staff_user_id: int | None, now: datetime) -> bool:
    """Whether this member may still edit or delete the note: their own, within the window."""
    return (
        note.kind == ActivityKind.NOTE
        and note.deleted_at is None
        and staff_user_id is not None
        and note.staff_user_id == staff_user_id
        and now - note.created_at <= EDIT_WINDOW
    )


def _locked_note(tenant_id: int, followup_id: int, note_id: int) -> FollowUpActivity:
    note = lock_row(
        FollowUpActivity,
        note_id,
        FollowUpActivity.version,
        FollowUpActivity.tenant_id == tenant_id,
        FollowUpActivity.followup_id == followup_id,
        FollowUpActivity.kind == ActivityKind.NOTE,
    )
    if note is None:
        raise NotFound(staff_gettext("No such note."))
    return note


def _check_change(note: FollowUpActivity, author: Actor, based_on: int) -> None:
    if note.deleted_at is not None or based_on != note.version:
        raise NoteChangedMeanwhile(note)
    if note.staff_user_id is None or note.staff_user_id != author.staff_user_id:
        raise NoteLocked(staff_gettext("Only its author can change a note."))
    if utcnow() - note.created_at > EDIT_WINDOW:
        minutes = int(EDIT_WINDOW.total_seconds() // 60)
        raise NoteLocked(
            staff_ngettext(
                "A note can be changed for %(num)s minute after it is written.",
                "A note can be changed for %(num)s minutes after it is written.",
                minutes,
            )
        )


def _changing_note(tenant_id, followup_id, note_id, author, based_on, change) -> FollowUpActivity:
    """Lock the note, check the author, the window and the version read, then change it
    and commit; any refusal rolls back with nothing changed."""
    version = _parse_version(based_on)
    try:
        note = _locked_note(tenant_id, followup_id, note_id)
        _check_change(note, author, version)
        change(note)
        note.version += 1
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    live.changed(tenant_id)
    return note


def edit_note(
    tenant_id: int, followup_id: int, note_id: int, text: object, author: Actor, based_on: object
) -> FollowUpActivity:
    """Change the text of the author's own note, within EDIT_WINDOW of writing it, unless
    it changed after version `based_on` (NoteChangedMeanwhile: it is shown as it is)."""
    cleaned = clean_note(text)

    def change(note: FollowUpActivity) -> None:
        note.text = cleaned
        note.edited_at = utcnow()

    return _changing_note(tenant_id, followup_id, note_id, author, based_on, change)


def delete_note(
    tenant_id: int, followup_id: int, note_id: int, author: Actor, based_on: object
) -> FollowUpActivity:
    """Delete the author's own note (same rules as an edit); the row stays, marked."""

    def change(note: FollowUpActivity) -> None:
        note.deleted_at = utcnow()

    return _changing_note(tenant_id, followup_id, note_id, author, based_on, change)


# Links in a note: http(s) URLs, up to a space or a closing bracket or quote.
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_TRAILING_PUNCTUATION = ".,;:!?"
_LINK = Markup('<a href="{0}" rel="noopener noreferrer nofollow" target="_blank">{0}</a>')


def linkify(text: str) -> Markup:
    """A note's plain text as HTML: escaped, its links made clickable (new tab, no referrer
    or opener), line breaks kept by the template's CSS."""
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING_PUNCTUATION)
        start, end = match.start(), match.start() + len(url)
        parts.append(escape(text[position:start]))
        parts.append(_LINK.format(url))
        position = end
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


class EntryKind:
    """What a timeline entry is (the activity kinds, plus the two read from other tables)."""

    NOTE = ActivityKind.NOTE.value
    ASSIGNMENT = ActivityKind.ASSIGNMENT.value
    PRIORITY = ActivityKind.PRIORITY.value
    STATUS = "status"
    NOTIFICATION = "notification"
    RATING = "rating"  # the customer's answer to "How did we do?"


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    kind: str
    at: datetime
    actor: str
    text: str = ""
    from_value: str | None = None
    to_value: str | None = None
    note: FollowUpActivity | None = None  # a note's row (its id, version, edit time)
    notification: Notification | None = None
    rating: SatisfactionRating | None = None


_OUTCOME_STATES = (DeliveryState.SENT, DeliveryState.SAVED_TO_FILE, DeliveryState.FAILED)


def timeline(
    followup: FollowUpRequest,
    notifications: Iterable[Notification] | None = None,
    rating: SatisfactionRating | None = None,
) -> list[Entry]:
    """Everything that happened to the request, newest first: notes (not deleted),
    status, assignment and priority changes, each notification's outcome and the
    customer's rating. The detail passes the notifications and the rating it has read
    already for its other sections."""
    if notifications is None:
        notifications = _notifications_of(followup)
    entries = [_activity_entry(row) for row in _activity_of(followup)]
    entries += [_status_entry(change) for change in followup.history]
    entries += [_outcome_entry(n) for n in notifications if n.state in _OUTCOME_STATES]
    if rating is not None:
        entries.append(
            Entry(EntryKind.RATING, rating.created_at, staff_gettext("The customer"), rating=rating)
        )
    # Newest first; on the same instant, the later-written row first.
    entries.sort(key=lambda e: (e.at, _tie(e)), reverse=True)
    return entries


def _activity_of(followup: FollowUpRequest) -> Iterable[FollowUpActivity]:
    return db.session.scalars(
        select(FollowUpActivity).where(
            FollowUpActivity.tenant_id == followup.tenant_id,
            FollowUpActivity.followup_id == followup.id,
            FollowUpActivity.deleted_at.is_(None),
        )
    )


def _notifications_of(followup: FollowUpRequest) -> Iterable[Notification]:
    return db.session.scalars(
        select(Notification).where(
            Notification.tenant_id == followup.tenant_id,
            Notification.followup_id == followup.id,
        )
    )


def _activity_entry(row: FollowUpActivity) -> Entry:
    note = row if row.kind == ActivityKind.NOTE else None
    return Entry(
        row.kind, row.created_at, row.actor_label, row.text, row.from_value, row.to_value, note=note
    )


def _status_entry(change: FollowUpStatusChange) -> Entry:
    return Entry(
        EntryKind.STATUS,
        change.changed_at,
        change.actor_label,
        from_value=change.from_status,
        to_value=change.to_status,
    )


def _outcome_entry(notification: Notification) -> Entry:
    at = notification.sent_at or notification.next_attempt_at or notification.created_at
    return Entry(
        EntryKind.NOTIFICATION,
        at,
        staff_gettext("Notifications"),
        to_value=notification.state,
        notification=notification,
    )


def _tie(entry: Entry) -> int:
    return entry.note.id if entry.note is not None else 0
