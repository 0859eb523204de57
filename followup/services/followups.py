"""Follow-up requests: create, find, list, move through the workflow, annotate."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache

from sqlalchemy import Row, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, joinedload

from followup.clock import utcnow
from followup.errors import DomainError, ValidationFailed
from followup.extensions import db
from followup.locales import mark, staff_gettext, staff_text
from followup.models import (
    ActivityKind,
    Customer,
    FollowUpRequest,
    FollowUpStatusChange,
    Priority,
    Source,
    StaffUser,
    Status,
    Tenant,
    is_past_due,
)
from followup.services import (
    activity,
    autofollowup,
    customer_login,
    live,
    notifications,
    promise,
    workflow,
)
from followup.services.activity import Actor
from followup.services.followup_limits import (
    MAX_EMAIL,
    MAX_NAME,
    MAX_NOTES,
    MAX_NOTES_VERSION,
    MAX_PHONE,
    MAX_REASON,
    MAX_SUMMARY,
)
from followup.services.notifications import DeliveryKey
from followup.services.queries import (
    LIKE_ESCAPE,
    MAX_ID,
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
    number_in_range,
    problem,
    search_text,
    status_filter,
)

NOTES = staff_text("Notes")  # the legacy field's label, which its messages name


class AssigneeFilter(StrEnum):
    """Whose requests the list shows (absent: everyone's)."""

    MINE = "mine"
    UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: Status | None = None
    assignee: AssigneeFilter | None = None
    assignee_id: int | None = None  # one member's requests (the API's filter)
    overdue: bool = False
    priority: Priority | None = None
    source: Source | None = None

    @classmethod
    def parse(
        cls,
        q: object = None,
        status: object = None,
        assignee: object = None,
        overdue: object = None,
        priority: object = None,
        source: object = None,
        assignee_id: object = None,
    ) -> "Filters":
        errors = FieldErrors()
        text = errors.check(search_text, q)
        chosen = errors.check(status_filter, status, tuple(Status))
        assignee_label = staff_text("Assignee")
        whose = errors.check(_choice, assignee, "assignee", assignee_label, AssigneeFilter)
        origin = errors.check(_choice, source, "source", staff_text("Source"), Source)
        is_overdue = errors.check(_flag, overdue, "overdue", staff_text("Overdue"))
        level = errors.check(_choice, priority, "priority", staff_text("Priority"), Priority)
        member = errors.check(_id_filter, assignee_id, "assignee_id", assignee_label)
        errors.raise_if_any()
        return cls(
            q=text,
            status=Status(chosen) if chosen else None,
            assignee=AssigneeFilter(whose) if whose else None,
            assignee_id=member,
            overdue=bool(is_overdue),
            priority=Priority(level) if level else None,
            source=Source(origin) if origin else None,
        )

    @property
    def any_set(self) -> bool:
        return any(
            (self.q, self.status, self.assignee, self.assignee_id, self.overdue, self.priority)
        ) or bool(self.source)


def _choice(value: object, field: str, label: str, choices: type[StrEnum]) -> str | None:
    """One of `choices`, or None for an absent or empty value."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value in set(choices):
        return value
    known = ", ".join(choice.value for choice in choices)
    raise ValidationFailed(
        {field: problem(label, staff_gettext("use one of %(choices)s.", choices=known))}
    )


def _id_filter(value: object, field: str, label: str) -> int | None:
    if value is None or value == "":
        return None
    number = number_in_range(value, 1, MAX_ID)
    if number is None:
        raise ValidationFailed({field: problem(label, staff_text("use the id of a staff member."))})
    return number


def _flag(value: object, field: str, label: str) -> bool:
    """A yes/no filter from a URL: absent, empty, "0" or "false" is off; "1", "true" or
    "on" (a checkbox) is on."""
    if value is None or value in ("", "0", "false", False):
        return False
    if value in ("1", "true", "on", True):
        return True
    raise ValidationFailed({field: problem(label, staff_text("use 1 or 0."))})


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
            raise ValidationFailed(
                {"cursor": staff_gettext("The list changed too much to go on: reload it.")}
            )
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
    FollowUpRequest.response_time_hours,
    FollowUpRequest.due_at,
    FollowUpRequest.assignee_id,
    StaffUser.name.label("assignee_name"),
    StaffUser.email.label("assignee_email"),
)


@dataclass(frozen=True)
class Page:
    items: list[Row]  # rows of CARD_COLUMNS, read-only: no ORM objects to build and track
    next_cursor: str | None


def _session() -> Session:
    return db.session


NO_SUCH_FOLLOWUP = staff_text("No such follow-up request.")


def get_followup(tenant_id: int, followup_id: int, *options) -> FollowUpRequest:
    return tenant_row(FollowUpRequest, tenant_id, followup_id, NO_SUCH_FOLLOWUP, *options)


def followup_for_detail(tenant_id: int, followup_id: int) -> FollowUpRequest:
    """The request with its conversation (the detail names the channel) and its status
    history (a handful of rows, for the timeline) in one query."""
    return get_followup(
        tenant_id,
        followup_id,
        joinedload(FollowUpRequest.chat),
        joinedload(FollowUpRequest.history),
    )


@dataclass(frozen=True)
class Viewer:
    """Whose list it is and what "overdue" means for it: the filters Mine and Overdue
    depend on them."""

    staff_user_id: int | None = None
    now: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class _Kinds:
    """Which filters are set: what the conditions look like (values come as parameters)."""

    by_status: bool = False
    by_text: bool = False
    assignee: AssigneeFilter | None = None
    by_assignee_id: bool = False
    overdue: bool = False
    by_priority: bool = False
    by_source: bool = False


def _kinds(filters: Filters) -> _Kinds:
    return _Kinds(
        filters.status is not None,
        bool(filters.q),
        filters.assignee,
        filters.assignee_id is not None,
        filters.overdue,
        filters.priority is not None,
        filters.source is not None,
    )


def _conditions(kinds: _Kinds) -> list:
    """The conditions for the tenant's requests that pass the filters.

    With bound parameters (values from `_parameters`), so a statement built from them
    serves every request with the same kinds of filter.
    """
    conditions = [FollowUpRequest.tenant_id == bindparam("tenant_id")]
    if kinds.by_status:
        conditions.append(FollowUpRequest.status == bindparam("status"))
    if kinds.by_text:
        pattern = bindparam("pattern")
        conditions.append(FollowUpRequest.search_text.like(pattern, escape=LIKE_ESCAPE))
    if kinds.assignee == AssigneeFilter.MINE:
        conditions.append(FollowUpRequest.assignee_id == bindparam("me"))
    elif kinds.assignee == AssigneeFilter.UNASSIGNED:
        conditions.append(FollowUpRequest.assignee_id.is_(None))
    if kinds.by_assignee_id:
        conditions.append(FollowUpRequest.assignee_id == bindparam("assignee_id"))
    if kinds.overdue:  # as `is_overdue` says, in SQL
        conditions.append(FollowUpRequest.status == Status.PENDING)
        conditions.append(FollowUpRequest.past_due(bindparam("now")))
    if kinds.by_priority:
        conditions.append(FollowUpRequest.priority == bindparam("priority"))
    if kinds.by_source:
        conditions.append(FollowUpRequest.source == bindparam("source"))
    return conditions


def _parameters(tenant_id: int, filters: Filters, viewer: Viewer) -> dict:
    params: dict = {"tenant_id": tenant_id}
    if filters.status is not None:
        params["status"] = filters.status
    if filters.q:
        params["pattern"] = contains_pattern(filters.q)
    if filters.assignee == AssigneeFilter.MINE:
        # Nobody signed in (the API) has no requests of their own: an id no row has.
        params["me"] = viewer.staff_user_id if viewer.staff_user_id is not None else 0
    if filters.overdue:
        params["now"] = viewer.now
    if filters.assignee_id is not None:
        params["assignee_id"] = filters.assignee_id
    if filters.priority is not None:
        params["priority"] = filters.priority
    if filters.source is not None:
        params["source"] = filters.source
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
def _filtered_statement(kinds: _Kinds, columns: tuple, after_cursor: bool, limit: int) -> Select:
    conditions = _conditions(kinds) + ([_AFTER_CURSOR] if after_cursor else [])
    return select(*columns).where(*conditions).order_by(*_NEWEST_FIRST).limit(limit)


def filtered(
    tenant_id: int,
    filters: Filters,
    viewer: Viewer,
    columns: tuple,
    limit: int,
    after: Cursor | None = None,
) -> tuple[Select, dict]:
    """The one selection of the tenant's requests that pass `filters` as `viewer` sees
    them (the list, its export): a statement of `columns`, newest first, at most `limit`
    rows after the row at `after` (keyset); and the values of its parameters.

    Building a statement costs more than running it, and requests differ only in the
    parameters: one statement serves every request with the same kinds of filter.
    """
    params = _parameters(tenant_id, filters, viewer)
    if after is not None:
        params |= {"after_created_at": after.created_at, "after_id": after.id}
    return _filtered_statement(_kinds(filters), columns, after is not None, limit), params


_PAGE_IDS = (FollowUpRequest.id,)


@cache
def _cards_of(page_ids: Select) -> Select:
    """The cards of the page whose ids `page_ids` selects, in the list's order. The ids
    come first, then their rows: the list indexes carry search_text, so on PostgreSQL
    a search reads the index alone until it has a page of ids, and then the table only
    for the rows shown."""
    query = select(*CARD_COLUMNS).where(FollowUpRequest.id.in_(page_ids.scalar_subquery()))
    query = query.outerjoin(StaffUser, StaffUser.id == FollowUpRequest.assignee_id)
    return query.order_by(*_NEWEST_FIRST)


def list_page(
    tenant_id: int,
    filters: Filters,
    cursor: str | None = None,
    limit: int = 25,
    viewer: Viewer | None = None,
) -> Page:
    """One page of the admin list, newest first, continuing after `cursor`."""
    after = Cursor.decode(cursor) if cursor else None
    # One row more than the page tells whether there is a next page, without a count.
    page_ids, params = filtered(tenant_id, filters, viewer or Viewer(), _PAGE_IDS, limit + 1, after)
    # Plain rows: run on the connection, past the session's ORM layer.
    rows = _session().connection().execute(_cards_of(page_ids), params).all()
    items = rows[:limit]
    more = len(rows) > limit
    next_cursor = Cursor(items[-1].created_at, items[-1].id).encode() if more else None
    return Page(items, next_cursor)


def numbered_page(
    tenant_id: int, filters: Filters, page: int, per_page: int, viewer: Viewer | None = None
) -> tuple[list[FollowUpRequest], int]:
    """A numbered page and the total, for the REST API."""
    query = select(FollowUpRequest).where(*_conditions(_kinds(filters)))
    params = _parameters(tenant_id, filters, viewer or Viewer())
    total = _session().scalar(select(func.count()).select_from(query.subquery()), params)
    query = query.order_by(*_NEWEST_FIRST).offset((page - 1) * per_page).limit(per_page)
    return list(_session().scalars(query, params)), total


def count_pending(tenant_id: int) -> int:
    return _session().scalar(
        select(func.count())
        .select_from(FollowUpRequest)
        .where(FollowUpRequest.tenant_id == tenant_id, FollowUpRequest.status == Status.PENDING)
    )


def is_overdue(followup: FollowUpRequest | Row, now: datetime) -> bool:
    """A pending request past its due time (the promise stored when it was made)."""
    return followup.status == Status.PENDING and is_past_due(followup.due_at, now)


def _parse_priority(value: object) -> Priority | None:
    """The one rule for a priority sent to us, on create and on update alike: absent or
    null is None (a new request is normal, an update leaves it), else normal or high."""
    if value is None:
        return None
    try:
        return Priority(value)
    except (ValueError, TypeError):
        raise ValidationFailed({"priority": _normal_or_high()}) from None


def _normal_or_high() -> str:
    return problem(staff_text("Priority"), staff_text("use normal or high."))


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
    """Check every field at once; raise ValidationFailed naming each bad field. The
    widget's form is checked here too: its labels are the customers' texts (`mark`)."""
    errors = FieldErrors()
    # A misspelt optional field would otherwise be dropped without a word.
    unknown = sorted(set(data) - NEW_FOLLOWUP_FIELDS)
    errors.errors |= dict.fromkeys(unknown, staff_gettext(UNKNOWN_FIELD))
    name = errors.check(
        clean_text, data.get("name"), "name", mark("Name"), required=True, max_length=MAX_NAME
    )
    email = errors.check(
        clean_text, data.get("email"), "email", mark("Email"), required=True, max_length=MAX_EMAIL
    )
    if email:
        email = errors.check(normalize_email, email)
    phone = errors.check(
        clean_text, data.get("phone"), "phone", mark("Phone"), required=False, max_length=MAX_PHONE
    )
    if phone:
        phone = errors.check(normalize_phone, phone)
    reason = errors.check(
        clean_text,
        data.get("reason"),
        "reason",
        mark("Reason"),
        required=True,
        max_length=MAX_REASON,
    )
    summary = errors.check(
        clean_text,
        data.get("summary"),
        "summary",
        mark("Summary"),
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
        customer = tenant_row(Customer, tenant_id, customer_id, staff_text("No such customer."))
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
    promise.start_clock(followup, _session().get(Tenant, tenant_id).response_time_hours)
    if identity_verified:
        followup.customer.proved_email()
    _session().add(followup)
    # The notifications are saved with the request, and queued once both are stored.
    deliveries = notifications.add_for_new_followup(followup) if notify else []
    if before_commit is not None:
        _session().flush()
        before_commit(followup)
    _session().commit()
    live.changed(tenant_id)
    notifications.dispatch(deliveries)
    return followup


def _move(followup: FollowUpRequest, target: Status, actor: Actor) -> list[DeliveryKey]:
    """Move the locked request to `target`, recorded; returns the notifications the move
    staged ("How did we do?" on resolving) for the caller to dispatch after the commit."""
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
    if target != Status.PENDING:
        promise.stop_clock(followup)
    if target == Status.RESOLVED:
        return notifications.add_for_resolved(followup)
    return []


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
    live.changed(tenant_id)  # status, notes, priority: every open admin page follows


def change_status(
    tenant_id: int, followup_id: int, new_status: object, actor: Actor
) -> FollowUpRequest:
    """Move a request along the workflow, stamp the time and record who did it."""
    target = workflow.parse_status(new_status)
    with _changing(tenant_id, followup_id) as followup:
        workflow.check_transition(followup.status, target)
        told = _move(followup, target, actor)
    notifications.dispatch(told)
    return followup


class NotesChangedMeanwhile(DomainError):
    """A save based on notes someone else has changed since: it would lose their words."""

    code = "notes_conflict"
    http_status = 409

    def __init__(self):
        super().__init__(staff_gettext("Someone else changed these notes since you read them."))


def _parse_notes_version(value: object) -> int:
    """The notes version a save is based on: a whole number, as JSON or as form text."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON's 3.0 is the integer 3 (as JSON Schema counts it)
    number = number_in_range(value, 0, MAX_NOTES_VERSION)
    if number is None:
        raise ValidationFailed(
            {
                "notes_version": problem(
                    staff_text("Notes version"),
                    staff_text("use the whole number read with the notes."),
                )
            }
        )
    return number


def _clean_notes(notes: object) -> str:
    return clean_text(notes, "notes", NOTES, required=False, max_length=MAX_NOTES) or ""


def _write_notes(followup: FollowUpRequest, notes: str, based_on: int | None, actor: Actor) -> None:
    """Save the legacy notes unless they changed after version `based_on` (None: no
    check, the last save wins). Every save that changes them counts a new version, and
    adds them to the timeline as a note, where staff read notes now."""
    if notes == followup.notes:
        return  # nothing to save, and nothing of anyone's to lose
    if based_on is not None and based_on != followup.notes_version:
        raise NotesChangedMeanwhile()
    followup.notes = notes
    followup.notes_version += 1
    if notes:
        activity.record(followup, ActivityKind.NOTE, actor, text=notes)


UPDATABLE_FIELDS = frozenset({"status", "notes", "priority", "assignee_id"})
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
        cannot = staff_gettext("This field cannot be changed.")
        raise ValidationFailed(dict.fromkeys(unknown, cannot))
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
    assignee = (
        errors.check(_parse_assignee, tenant_id, changes["assignee_id"])
        if "assignee_id" in changes
        else None
    )
    errors.raise_if_any()
    told: list[DeliveryKey] = []
    with _changing(tenant_id, followup_id) as followup:
        if target is not None and target != followup.status:
            workflow.check_transition(followup.status, target)
            told += _move(followup, target, actor)
        if "notes" in changes:
            _write_notes(followup, notes, based_on, actor)
        if priority is not None:
            _set_priority(followup, priority, actor)
        if "assignee_id" in changes:
            told += _assign(followup, assignee, actor)
    notifications.dispatch(told)
    return followup


# --- Assignment and priority -------------------------------------------------------------

# An unassigned request's assignee, in the timeline's words (stored with the change).
NOBODY = staff_text("Nobody")


def _member_label(member: StaffUser | None) -> str:
    return member.display_name if member is not None else staff_gettext(NOBODY)


def active_member(tenant_id: int, staff_user_id: object) -> StaffUser:
    """The tenant's active staff member with this id; ValidationFailed for anyone else
    (another tenant's, deactivated, unknown), in one message: who exists is not said."""
    number = number_in_range(staff_user_id, 1, MAX_ID)
    member = None
    if number is not None:
        member = _session().scalar(
            select(StaffUser).where(StaffUser.id == number, StaffUser.tenant_id == tenant_id)
        )
    if member is None or not member.is_active:
        advice = staff_text("choose an active member of your team.")
        raise ValidationFailed({"assignee_id": problem(staff_text("Assignee"), advice)})
    return member


def _parse_assignee(tenant_id: int, value: object) -> StaffUser | None:
    """None or "" is nobody (unassigned); else an active member of the tenant."""
    if value is None or value == "":
        return None
    return active_member(tenant_id, value)


def _assign(
    followup: FollowUpRequest, assignee: StaffUser | None, actor: Actor
) -> list[DeliveryKey]:
    """Give the locked request to `assignee` (None: nobody), recorded. The assignee is
    emailed unless they took it themselves (or had it already): the email is staged in
    this transaction, and returned for the caller to dispatch after the commit."""
    new_id = assignee.id if assignee is not None else None
    if followup.assignee_id == new_id:
        return []
    previous = _session().get(StaffUser, followup.assignee_id) if followup.assignee_id else None
    activity.record(
        followup,
        ActivityKind.ASSIGNMENT,
        actor,
        from_value=_member_label(previous),
        to_value=_member_label(assignee),
    )
    followup.assignee_id = new_id
    if assignee is None or assignee.id == actor.staff_user_id:
        return []
    return [notifications.add_for_assignment(followup, assignee)]


def give_back_to_the_team(member: StaffUser, actor: Actor) -> int:
    """A member who leaves hands their open requests back to the team (unassigned, each
    recorded in its timeline), in the caller's transaction; how many there were. Closed
    ones keep them: who handled a request stays known."""
    ids = _session().scalars(
        select(FollowUpRequest.id).where(
            FollowUpRequest.tenant_id == member.tenant_id,
            FollowUpRequest.assignee_id == member.id,
            FollowUpRequest.status.in_(workflow.OPEN_STATUSES),
        )
    )
    count = 0
    for followup_id in sorted(ids):
        _assign(lock_row(FollowUpRequest, followup_id, FollowUpRequest.status), None, actor)
        count += 1
    return count


def assign(tenant_id: int, followup_id: int, assignee_id: object, actor: Actor) -> FollowUpRequest:
    """Give the request to an active member of the tenant, or to nobody (None)."""
    get_followup(tenant_id, followup_id)  # another tenant's id: 404 before any field error
    assignee = _parse_assignee(tenant_id, assignee_id)
    with _changing(tenant_id, followup_id) as followup:
        told = _assign(followup, assignee, actor)
    notifications.dispatch(told)
    return followup


def _set_priority(followup: FollowUpRequest, priority: Priority, actor: Actor) -> bool:
    if followup.priority == priority:
        return False
    activity.record(
        followup,
        ActivityKind.PRIORITY,
        actor,
        from_value=followup.priority,
        to_value=priority,
    )
    followup.priority = priority
    return True


def _required_priority(value: object) -> Priority:
    priority = _parse_priority(value)
    if priority is None:
        raise ValidationFailed({"priority": _normal_or_high()})
    return priority


def set_priority(
    tenant_id: int, followup_id: int, priority: object, actor: Actor
) -> FollowUpRequest:
    """Mark the request normal or high priority, recorded in its timeline."""
    get_followup(tenant_id, followup_id)
    level = _required_priority(priority)
    with _changing(tenant_id, followup_id) as followup:
        _set_priority(followup, level, actor)
    return followup


# --- Bulk actions ------------------------------------------------------------------------

MAX_BULK = 100  # requests one bulk action changes at most (four pages of the list)


@dataclass
class BulkResult:
    """What a bulk action did: the ids it changed (or left as they were asked to be) and,
    for each refused id, why; a refused request is not changed at all."""

    done: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def _parse_ids(ids: object) -> list[int]:
    """The selected ids, each once, in order; ValidationFailed for none, too many or a
    value that is not an id."""
    values = ids if isinstance(ids, list | tuple) else None
    parsed: list[int] = []
    for value in values or []:
        number = number_in_range(value, 1, MAX_ID)
        if number is None:
            values = None
            break
        if number not in parsed:
            parsed.append(number)
    if not values:
        advice = staff_text("select one request or more.")
        raise ValidationFailed({"ids": problem(staff_text("Selection"), advice)})
    if len(parsed) > MAX_BULK:
        advice = staff_gettext("select at most %(most)s requests at once.", most=MAX_BULK)
        raise ValidationFailed({"ids": problem(staff_text("Selection"), advice)})
    return parsed


def _bulk(tenant_id: int, ids: object, change: Callable[[FollowUpRequest], None]) -> BulkResult:
    """Apply `change` to each selected request of the tenant in one transaction, locked in
    id order (two bulk actions take turns, never deadlock). A request `change` refuses
    (a DomainError) is left as it was and reported with the reason."""
    result = BulkResult()
    for followup_id in sorted(_parse_ids(ids)):
        followup = lock_row(
            FollowUpRequest,
            followup_id,
            FollowUpRequest.status,
            FollowUpRequest.tenant_id == tenant_id,
        )
        if followup is None:
            result.refused[followup_id] = staff_gettext(NO_SUCH_FOLLOWUP)
            continue
        try:
            change(followup)
        except DomainError as exc:
            result.refused[followup_id] = exc.fields.get("status", exc.message)
            continue
        result.done.append(followup_id)
    _session().commit()
    if result.done:
        live.changed(tenant_id)
    return result


def bulk_status(tenant_id: int, ids: object, new_status: object, actor: Actor) -> BulkResult:
    """Move each selected request to `new_status` where the workflow allows it; report the
    others with the workflow's reason."""
    target = workflow.parse_status(new_status)
    told: list[DeliveryKey] = []

    def change(followup: FollowUpRequest) -> None:
        if followup.status == target:
            return  # already there: nothing to do, nothing refused
        workflow.check_transition(followup.status, target)
        told.extend(_move(followup, target, actor))

    result = _bulk(tenant_id, ids, change)
    notifications.dispatch(told)
    return result


def bulk_assign(tenant_id: int, ids: object, assignee_id: object, actor: Actor) -> BulkResult:
    """Give each selected request to the member (None: nobody)."""
    assignee = _parse_assignee(tenant_id, assignee_id)
    _parse_ids(ids)  # a bad selection is refused before anything is read
    told: list[DeliveryKey] = []

    def change(followup: FollowUpRequest) -> None:
        told.extend(_assign(followup, assignee, actor))

    result = _bulk(tenant_id, ids, change)
    notifications.dispatch(told)
    return result


def bulk_priority(tenant_id: int, ids: object, priority: object, actor: Actor) -> BulkResult:
    level = _required_priority(priority)
    return _bulk(tenant_id, ids, lambda followup: _set_priority(followup, level, actor))


def team_members(tenant_id: int) -> list[StaffUser]:
    """The tenant's active staff, by name: whom a request can be assigned to."""
    members = _session().scalars(
        select(StaffUser).where(StaffUser.tenant_id == tenant_id).order_by(StaffUser.name)
    )
    return [member for member in members if member.is_active]
