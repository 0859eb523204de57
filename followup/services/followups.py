"""Follow-up requests: create, find, list, move through the workflow, annotate."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Row, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, joinedload

from followup.clock import utcnow
from followup.errors import DomainError, ValidationFailed
from followup.extensions import db
from followup.models import (
    Customer,
    FollowUpRequest,
    FollowUpStatusChange,
    Priority,
    Source,
    Status,
)
from followup.services import autofollowup, customer_login, notifications, workflow
from followup.services.followup_limits import (
    MAX_EMAIL,
    MAX_NAME,
    MAX_NOTES,
    MAX_NOTES_VERSION,
    MAX_PHONE,
    MAX_REASON,
    MAX_SUMMARY,
)
from followup.services.queries import (
    LIKE_ESCAPE,
    contains_pattern,
    keyset_cursor,
    lock_row,
    parse_keyset_cursor,
    tenant_row,
)
from followup.services.validation import (
    UNKNOWN_FIELD,
    FieldErrors,
    clean_text,
    normalize_email,
    normalize_phone,
    problem,
    search_text,
    status_filter,
    whole_number,
)

NOTES = "Staff Notes"  # the field's label, which its messages name


@dataclass(frozen=True)
class Actor:
    """Who did something: a staff member, an API token, the system."""

    label: str
    staff_user_id: int | None = None


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: Status | None = None

    @classmethod
    def parse(cls, q: object = None, status: object = None) -> "Filters":
        errors = FieldErrors()
        text = errors.check(search_text, q)
        chosen = errors.check(status_filter, status, tuple(Status))
        errors.raise_if_any()
        return cls(q=text, status=Status(chosen) if chosen else None)


@dataclass(frozen=True)
class Cursor:
    """Position after the last row shown, for keyset pagination (newest first)."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        return keyset_cursor(self.created_at, self.id)

    @classmethod
    def decode(cls, raw: str) -> "Cursor":
        position = parse_keyset_cursor(raw)
        if position is None:
            raise ValidationFailed({"cursor": "The list changed too much to go on: reload it."})
        return cls(*position)


# What a card of the admin list shows; the long texts stay in the database.
CARD_COLUMNS = (
    FollowUpRequest.id,
    FollowUpRequest.tenant_id,
    FollowUpRequest.name,
    FollowUpRequest.email,
    FollowUpRequest.phone,
    FollowUpRequest.reason,
    FollowUpRequest.is_high_priority,
    FollowUpRequest.identity_verified,
    FollowUpRequest.status,
    FollowUpRequest.created_at,
)


@dataclass(frozen=True)
class Page:
    items: list[Row]  # rows of CARD_COLUMNS, read-only: no ORM objects to build and track
    next_cursor: str | None


def _session() -> Session:
    return db.session


def get_followup(tenant_id: int, followup_id: int, *options) -> FollowUpRequest:
    return tenant_row(
        FollowUpRequest, tenant_id, followup_id, "No such follow-up request.", *options
    )


def followup_for_detail(tenant_id: int, followup_id: int) -> FollowUpRequest:
    """The request with its conversation (the detail names the channel) in one query."""
    return get_followup(tenant_id, followup_id, joinedload(FollowUpRequest.chat))


def _kinds(filters: Filters) -> tuple[bool, bool]:
    """Which filters are set (status, text): what the conditions look like."""
    return filters.status is not None, bool(filters.q)


def _conditions(by_status: bool, by_text: bool) -> list:
    """The conditions for the tenant's requests that pass the filters.

    With bound parameters (values from `_parameters`), so a statement built from them
    serves every request with the same kinds of filter.
    """
    conditions = [FollowUpRequest.tenant_id == bindparam("tenant_id")]
    if by_status:
        conditions.append(FollowUpRequest.status == bindparam("status"))
    if by_text:
        pattern = bindparam("pattern")
        conditions.append(FollowUpRequest.search_text.like(pattern, escape=LIKE_ESCAPE))
    return conditions


def _parameters(tenant_id: int, filters: Filters) -> dict:
    params: dict = {"tenant_id": tenant_id}
    if filters.status is not None:
        params["status"] = filters.status
    if filters.q:
        params["pattern"] = contains_pattern(filters.q)
    return params


_NEWEST_FIRST = (FollowUpRequest.created_at.desc(), FollowUpRequest.id.desc())

# Older than the cursor's row, in the list's order (newest first).
_AFTER_CURSOR = or_(
    FollowUpRequest.created_at < bindparam("after_created_at"),
    and_(
        FollowUpRequest.created_at == bindparam("after_created_at"),
        FollowUpRequest.id < bindparam("after_id"),
    ),
)


@cache
def _list_statement(by_status: bool, by_text: bool, after_cursor: bool, limit: int) -> Select:
    """The admin list's query for one combination of filters, built once.

    Building a statement costs more than running it, and requests differ only in
    the parameters. The page's ids come first, then their rows: the list indexes
    carry search_text, so on PostgreSQL a search reads the index alone until it has
    a page of ids, and then the table only for the rows shown.
    """
    conditions = _conditions(by_status, by_text) + ([_AFTER_CURSOR] if after_cursor else [])
    # One row more than the page tells whether there is a next page, without a count.
    page_ids = select(FollowUpRequest.id).where(*conditions).order_by(*_NEWEST_FIRST)
    page_ids = page_ids.limit(limit + 1).scalar_subquery()
    query = select(*CARD_COLUMNS).where(FollowUpRequest.id.in_(page_ids))
    return query.order_by(*_NEWEST_FIRST)


def list_page(tenant_id: int, filters: Filters, cursor: str | None = None, limit: int = 25) -> Page:
    """One page of the admin list, newest first, continuing after `cursor`."""
    params = _parameters(tenant_id, filters)
    if cursor:
        after = Cursor.decode(cursor)
        params |= {"after_created_at": after.created_at, "after_id": after.id}
    query = _list_statement(*_kinds(filters), bool(cursor), limit)
    # Plain rows: run on the connection, past the session's ORM layer.
    rows = _session().connection().execute(query, params).all()
    items = rows[:limit]
    more = len(rows) > limit
    next_cursor = Cursor(items[-1].created_at, items[-1].id).encode() if more else None
    return Page(items, next_cursor)


def numbered_page(
    tenant_id: int, filters: Filters, page: int, per_page: int
) -> tuple[list[FollowUpRequest], int]:
    """A numbered page and the total, for the REST API."""
    query = select(FollowUpRequest).where(*_conditions(*_kinds(filters)))
    params = _parameters(tenant_id, filters)
    total = _session().scalar(select(func.count()).select_from(query.subquery()), params)
    query = query.order_by(*_NEWEST_FIRST).offset((page - 1) * per_page).limit(per_page)
    return list(_session().scalars(query, params)), total


def count_pending(tenant_id: int) -> int:
    return _session().scalar(
        select(func.count())
        .select_from(FollowUpRequest)
        .where(FollowUpRequest.tenant_id == tenant_id, FollowUpRequest.status == Status.PENDING)
    )


def is_overdue(followup: FollowUpRequest | Row, response_time_hours: int, now: datetime) -> bool:
    """A pending request older than the promised response time."""
    return followup.status == Status.PENDING and now - followup.created_at > timedelta(
        hours=response_time_hours
    )


def _parse_priority(value: object) -> Priority | None:
    """The one rule for a priority sent to us, on create and on update alike: absent or
    null is None (a new request is normal, an update leaves it), else normal or high."""
    if value is None:
        return None
    try:
        return Priority(value)
    except (ValueError, TypeError):
        raise ValidationFailed({"priority": problem("Priority", "use normal or high.")}) from None


@dataclass(frozen=True)
class NewFollowUp:
    name: str
    email: str
    reason: str
    phone: str | None = None
    summary: str | None = None
    priority: str = Priority.NORMAL


NEW_FOLLOWUP_FIELDS = frozenset(("name", "email", "phone", "reason", "summary", "priority"))


def validate_new_followup(data: dict) -> NewFollowUp:
    """Check every field at once; raise ValidationFailed naming each bad field."""
    errors = FieldErrors()
    # A misspelt optional field would otherwise be dropped without a word.
    errors.errors |= {name: UNKNOWN_FIELD for name in sorted(set(data) - NEW_FOLLOWUP_FIELDS)}
    name = errors.check(
        clean_text, data.get("name"), "name", "Name", required=True, max_length=MAX_NAME
    )
    email = errors.check(
        clean_text, data.get("email"), "email", "Email", required=True, max_length=MAX_EMAIL
    )
    if email:
        email = errors.check(normalize_email, email)
    phone = errors.check(
        clean_text, data.get("phone"), "phone", "Phone", required=False, max_length=MAX_PHONE
    )
    if phone:
        phone = errors.check(normalize_phone, phone)
    reason = errors.check(
        clean_text, data.get("reason"), "reason", "Reason", required=True, max_length=MAX_REASON
    )
    summary = errors.check(
        clean_text,
        data.get("summary"),
        "summary",
        "Summary",
        required=False,
        max_length=MAX_SUMMARY,
    )
    priority = errors.check(_parse_priority, data.get("priority")) or Priority.NORMAL
    errors.raise_if_any()
    return NewFollowUp(name, email, reason, phone, summary, priority)


def _customer_for(tenant_id: int, new: NewFollowUp, customer_id: int | None) -> Customer:
    """The customer the request belongs to: the one given (the website's signed customer
    of the chat), else the record for (tenant, email), reused, never duplicated. The
    request's details fill what the record is missing."""
    if customer_id is not None:
        customer = tenant_row(Customer, tenant_id, customer_id, "No such customer.")
        customer.email = customer.email or new.email
    else:
        customer = customer_login.customer_with_email(tenant_id, new.email)
    if customer is None:
        customer = customer_login.add_customer_with_email(tenant_id, new.email, new.name, new.phone)
    customer.name = customer.name or new.name
    customer.phone = customer.phone or new.phone
    return customer


def _hand_off(tenant_id: int, chat_id: int) -> None:
    """End the chat's reminder cycle, first thing: its row is locked before the tenant's
    (which the request's flush updates), in the order the chat's own turns take them."""
    autofollowup.on_handed_off(tenant_id, chat_id)


def create_followup(
    tenant_id: int,
    data: dict,
    source: Source,
    chat_id: int | None = None,
    identity_verified: bool = False,
    notify: bool = True,
    customer_id: int | None = None,
    before_commit: Callable[[FollowUpRequest], None] | None = None,
) -> FollowUpRequest:
    """Validate and save a request (every creation path comes through here). One taken
    in a chat ends that chat's reminder cycle in the same commit: the team has it.
    `notify=False` tells nobody: the demo's sample requests are history, not news.
    `customer_id`: whose request it is when the chat proved it (see `_customer_for`).
    `before_commit` sees the stored request (its id known) before the commit, e.g. to
    build an answer that nothing after the commit can fail."""
    new = validate_new_followup(data)
    if chat_id is not None:
        _hand_off(tenant_id, chat_id)
    followup = FollowUpRequest(
        tenant_id=tenant_id,
        customer=_customer_for(tenant_id, new, customer_id),
        name=new.name,
        email=new.email,
        phone=new.phone,
        reason=new.reason,
        summary=new.summary,
        priority=new.priority,
        status=Status.PENDING,
        source=source,
        chat_id=chat_id,
        identity_verified=identity_verified,
        created_at=utcnow(),
    )
    if identity_verified:
        followup.customer.proved_email()
    _session().add(followup)
    # The notifications are saved with the request, and queued once both are stored.
    deliveries = notifications.add_for_new_followup(followup) if notify else []
    if before_commit is not None:
        _session().flush()
        before_commit(followup)
    _session().commit()
    notifications.dispatch(deliveries)
    return followup


def _move(followup: FollowUpRequest, target: Status, actor: Actor) -> None:
    now = utcnow()
    followup.history.append(
        FollowUpStatusChange(
            from_status=followup.status,
            to_status=target,
            staff_user_id=actor.staff_user_id,
            actor_label=actor.label,
            changed_at=now,
        )
    )
    followup.status = target
    setattr(followup, workflow.STATUS_TIMESTAMP[target], now)


@contextmanager
def _changing(tenant_id: int, followup_id: int) -> Iterator[FollowUpRequest]:
    """The request as it is now, locked while the block checks and changes it: two tabs
    saving at once take turns, and the second is checked against what the first wrote.
    Committed after the block; a refusal (any DomainError) rolls back, letting go of the
    lock with nothing changed."""
    followup = get_followup(tenant_id, followup_id)  # NotFound for another tenant's id
    # Usually read already by the view (no query); locked, it is read fresh.
    followup = lock_row(FollowUpRequest, followup.id, FollowUpRequest.status)
    try:
        yield followup
    except DomainError:
        _session().rollback()
        raise
    _session().commit()


def change_status(
    tenant_id: int, followup_id: int, new_status: object, actor: Actor
) -> FollowUpRequest:
    """Move a request along the workflow, stamp the time and record who did it."""
    target = workflow.parse_status(new_status)
    with _changing(tenant_id, followup_id) as followup:
        workflow.check_transition(followup.status, target)
        _move(followup, target, actor)
    return followup


class NotesChangedMeanwhile(DomainError):
    """A save based on notes someone else has changed since: it would lose their words."""

    code = "notes_conflict"
    http_status = 409

    def __init__(self):
        super().__init__("Someone else changed these notes since you read them.")


def _parse_notes_version(value: object) -> int:
    """The notes version a save is based on: a whole number, as JSON or as form text."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON's 3.0 is the integer 3 (as JSON Schema counts it)
    if isinstance(value, int) and not isinstance(value, bool):
        number = value if 0 <= value <= MAX_NOTES_VERSION else None
    else:
        number = whole_number(value, MAX_NOTES_VERSION)
    if number is None:
        raise ValidationFailed(
            {"notes_version": problem("Notes version", "use the whole number read with the notes.")}
        )
    return number


def _clean_notes(notes: object) -> str:
    return clean_text(notes, "notes", NOTES, required=False, max_length=MAX_NOTES) or ""


def _write_notes(followup: FollowUpRequest, notes: str, based_on: int | None) -> None:
    """Save the notes unless they changed after version `based_on` (None: no check, the
    last save wins). Every save that changes them counts a new version."""
    if notes == followup.notes:
        return  # nothing to save, and nothing of anyone's to lose
    if based_on is not None and based_on != followup.notes_version:
        raise NotesChangedMeanwhile()
    followup.notes = notes
    followup.notes_version += 1


def update_notes(
    tenant_id: int, followup_id: int, notes: object, based_on: object = None
) -> FollowUpRequest:
    """Save the staff notes. `based_on`: the notes version the writer read (None: the
    last save wins); after someone else's save it is refused (NotesChangedMeanwhile)."""
    text = _clean_notes(notes)
    version = None if based_on is None else _parse_notes_version(based_on)
    with _changing(tenant_id, followup_id) as followup:
        _write_notes(followup, text, version)
    return followup


UPDATABLE_FIELDS = frozenset({"status", "notes", "priority"})
# Checked, never changed, by a PATCH: the notes version the client read.
PRECONDITION_FIELDS = frozenset({"notes_version"})


def update_followup(
    tenant_id: int, followup_id: int, changes: dict, actor: Actor
) -> FollowUpRequest:
    """A partial update (API PATCH): everything is checked before anything changes.
    With `notes_version`, new notes are refused (NotesChangedMeanwhile) when the saved
    ones changed after that version; without it, the last save wins."""
    unknown = sorted(set(changes) - UPDATABLE_FIELDS - PRECONDITION_FIELDS)
    if unknown:
        raise ValidationFailed({name: "This field cannot be changed." for name in unknown})
    get_followup(tenant_id, followup_id)  # another tenant's id: 404 before any field error
    errors = FieldErrors()
    notes = errors.check(_clean_notes, changes.get("notes"))
    priority = errors.check(_parse_priority, changes.get("priority"))
    target = errors.check(workflow.parse_status, changes["status"]) if "status" in changes else None
    based_on = (
        errors.check(_parse_notes_version, changes["notes_version"])
        if "notes_version" in changes
        else None
    )
    errors.raise_if_any()
    with _changing(tenant_id, followup_id) as followup:
        if target is not None and target != followup.status:
            workflow.check_transition(followup.status, target)
            _move(followup, target, actor)
        if "notes" in changes:
            _write_notes(followup, notes, based_on)
        if priority is not None:
            followup.priority = priority
    return followup
