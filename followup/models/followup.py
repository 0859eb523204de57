from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    DDL,
    Boolean,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
    literal,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.clock import utcnow
from followup.extensions import db
from followup.locales import staff_gettext, staff_text
from followup.models.base import UTCDateTime, one_of, seconds_between
from followup.models.chat import Channel, Chat
from followup.models.customer import Customer
from followup.models.staff import StaffUser


class Status(StrEnum):
    PENDING = "pending"
    CONTACTED = "contacted"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"


class Source(StrEnum):
    TEXT = "text"
    VOICE = "voice"
    API = "api"


SOURCE_LABELS = {
    Source.TEXT: staff_text("Text chat"),
    Source.VOICE: staff_text("Voice chat"),
    Source.API: staff_text("API"),
}


# The share of the promised time after which a request nobody has contacted is at risk.
AT_RISK_SHARE = 0.75


class PromiseState(StrEnum):
    """Where a pending request stands against the promised response time."""

    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class PromiseClock:
    """A pending request's time left ("due in 3 h") or past ("overdue by 20 min")."""

    state: PromiseState
    words: str


def is_past_due(due_at: datetime, now: datetime) -> bool:
    """The one rule for "overdue" (its SQL twin is `FollowUpRequest.past_due`): from the
    due instant on."""
    return now >= due_at


def at_risk_at(created_at: datetime, response_time_hours: int) -> datetime:
    return created_at + timedelta(hours=response_time_hours) * AT_RISK_SHARE


def _span_words(span: timedelta) -> str:
    """A span as staff read it at a glance: to the minute under 10 hours, where the
    minutes matter ("3 h 20 min"); to the nearest hour up to two days; then days."""
    minutes = max(int(span.total_seconds() // 60), 1)
    hours, rest = divmod(minutes, 60)
    if hours == 0:
        return staff_gettext("%(minutes)s min", minutes=minutes)
    if hours < 10 and rest:
        return staff_gettext("%(hours)s h %(minutes)s min", hours=hours, minutes=rest)
    if hours < 48:
        return staff_gettext("%(hours)s h", hours=hours if hours < 10 else round(minutes / 60))
    return staff_gettext("%(days)s d", days=minutes // (24 * 60))


def promise_clock(
    created_at: datetime, response_time_hours: int, due_at: datetime, now: datetime
) -> PromiseClock:
    """The clock of a pending request, from its stored promise (the response time in
    force when it was made)."""
    if is_past_due(due_at, now):
        words = staff_gettext("overdue by %(span)s", span=_span_words(now - due_at))
        return PromiseClock(PromiseState.OVERDUE, words)
    at_risk = now >= at_risk_at(created_at, response_time_hours)
    state = PromiseState.AT_RISK if at_risk else PromiseState.ON_TIME
    return PromiseClock(state, staff_gettext("due in %(span)s", span=_span_words(due_at - now)))


class FollowUpRequest(db.Model):
    """A customer's request to be contacted by a human."""

    __tablename__ = "followup_requests"
    __table_args__ = (
        one_of("status", Status),
        one_of("priority", Priority),
        one_of("source", Source),
        # The list: newest first, for all statuses or one (keyset pagination). On
        # PostgreSQL they carry search_text, so a search filters in the index alone (an
        # index-only scan) and reads the table only for the rows it shows.
        Index(
            "ix_followup_requests_tenant_created",
            "tenant_id",
            "created_at",
            "id",
            postgresql_include=["search_text"],
        ),
        Index(
            "ix_followup_requests_tenant_status_created",
            "tenant_id",
            "status",
            "created_at",
            "id",
            postgresql_include=["search_text"],
        ),
        # The list's Mine / Unassigned filters: one member's (or nobody's) requests, newest first.
        Index(
            "ix_followup_requests_tenant_assignee_created",
            "tenant_id",
            "assignee_id",
            "created_at",
            "id",
        ),
        # The reports: the backlog by due time, and the requests not due yet.
        Index(
            "ix_followup_requests_tenant_status_due",
            "tenant_id",
            "status",
            "due_at",
            postgresql_include=["contacted_at"],
        ),
        # The promise's sweep: requests whose next alert (at risk, then overdue) is due.
        Index("ix_followup_requests_next_alert_at", "next_alert_at"),
        # Substring search on PostgreSQL: trigram index serves `LIKE '%term%'`.
        Index(
            "ix_followup_requests_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16), default=Priority.NORMAL)
    status: Mapped[str] = mapped_column(String(16), default=Status.PENDING)
    source: Mapped[str] = mapped_column(String(16), default=Source.API)
    # The one notes box from before the timeline, kept for the API's older clients.
    notes: Mapped[str] = mapped_column(Text, default="")
    # Counts the saves that changed `notes`: a save based on an older count would
    # overwrite a colleague's words (`services.followups.update_followup` refuses it).
    notes_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id"), index=True)
    # The staff member working the request; None: unassigned (the team's).
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    # True when name and email came from a signed identity or a logged-in customer.
    identity_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # Maintained by the database so search can never drift from the fields.
    search_text: Mapped[str] = mapped_column(
        Text,
        Computed("lower(name || ' ' || email || ' ' || reason)", persisted=True),
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The promise in force when the request was made ("within N hours"), and so when it
    # is due: a later change of the setting does not move it.
    response_time_hours: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the promise's next alert is due (at risk, then overdue); None once both are
    # sent, or the customer was contacted, or the request closed.
    next_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer | None] = relationship()
    assignee: Mapped["StaffUser | None"] = relationship()
    chat: Mapped[Chat | None] = relationship()  # the conversation it came from
    history: Mapped[list["FollowUpStatusChange"]] = relationship(
        back_populates="followup",
        order_by="FollowUpStatusChange.changed_at",
        cascade="all, delete-orphan",
    )

    @property
    def source_label(self) -> str:
        """How the request reached us, in staff's words: a text chat on SMS says so."""
        on_sms = self.chat is not None and self.chat.channel == Channel.SMS
        if self.source == Source.TEXT and on_sms:
            return "SMS"
        return staff_gettext(SOURCE_LABELS[self.source])

    @classmethod
    def past_due(cls, now):
        """SQL: due by `now` (a bind parameter), as `is_past_due` says."""
        return cls.due_at <= now

    @classmethod
    def at_risk_by(cls, now):
        """SQL: `AT_RISK_SHARE` of the promised time has passed by `now` (a bind
        parameter), as `at_risk_at` says."""
        return seconds_between(
            cls.created_at, literal(now, UTCDateTime())
        ) >= cls.response_time_hours * (3600 * AT_RISK_SHARE)

    # A hybrid, so the admin list can select it as a column of its rows.
    @hybrid_property
    def is_high_priority(self) -> bool:
        return self.priority == Priority.HIGH


class FollowUpStatusChange(db.Model):
    """One entry of a request's history: who moved it, when, from which status to which."""

    __tablename__ = "followup_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(
        ForeignKey("followup_requests.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    actor_label: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    followup: Mapped[FollowUpRequest] = relationship(back_populates="history")


class ActivityKind(StrEnum):
    """What an entry of a request's activity table records. Status changes keep their own
    table (followup_status_changes, older than the timeline); the timeline reads both."""

    NOTE = "note"
    ASSIGNMENT = "assignment"
    PRIORITY = "priority"


class FollowUpActivity(db.Model):
    """One entry of a request's timeline: a staff note, an assignment or a priority change."""

    __tablename__ = "followup_activity"
    __table_args__ = (
        one_of("kind", ActivityKind),
        # The timeline of one request, newest first.
        Index("ix_followup_activity_followup_created", "followup_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followup_requests.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # Who: a staff member (their id, and their name then), an API token, the system.
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    actor_label: Mapped[str] = mapped_column(String(200))
    # A note's plain text; for a change, what it was and what it became (names, values).
    text: Mapped[str] = mapped_column(Text, default="")
    from_value: Mapped[str | None] = mapped_column(String(200))
    to_value: Mapped[str | None] = mapped_column(String(200))
    # Counts a note's edits: an edit based on an older count is refused (stale view).
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The trigram operator class lives in an extension that must exist before the index.
event.listen(
    FollowUpRequest.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)

# A planner's sample of search_text 10 times the default (migration 0019): with the default,
# a term in 1% of rows can look 100 times rarer, and the list reads its every row, not 26.
SEARCH_TEXT_STATISTICS = 1000
event.listen(
    FollowUpRequest.__table__,
    "after_create",
    DDL(
        f"ALTER TABLE %(table)s ALTER COLUMN search_text SET STATISTICS {SEARCH_TEXT_STATISTICS}"
    ).execute_if(dialect="postgresql"),
)
