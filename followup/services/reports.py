"""Reports: is the promise kept, do the reminders bring people back, what does the AI cost.

Every figure is one SQL aggregate over the period, grouped in the database by day,
week, source, assignee, step or employee: no follow-up, message or reminder is read
into Python one by one. Days and weeks are the tenant's local ones: their bounds are
computed here with zoneinfo (a day of 23 or 25 hours at a change of daylight saving
time is still one day) and each row falls into its bucket by a CASE over those bounds,
so SQLite and PostgreSQL count alike. Daily rollups can later replace the queries
behind these functions without the pages noticing.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)

from followup.clock import utcnow
from followup.errors import ValidationFailed
from followup.extensions import db
from followup.locales import staff_gettext, staff_text
from followup.models import (
    Agent,
    AutoFollowupStep,
    ChainEnd,
    Channel,
    Chat,
    FollowUpRequest,
    Message,
    ModelPrice,
    ReminderSend,
    Role,
    Source,
    StaffUser,
    Status,
    Tenant,
)
from followup.models.base import seconds_between
from followup.services.agents import get_agent
from followup.services.queries import MAX_ID
from followup.services.satisfaction import Summary as RatingSummary
from followup.services.satisfaction import summary as rating_summary
from followup.services.validation import FieldErrors, problem, whole_number

LAST_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_PERIOD_DAYS = 366
# A customer "wrote back" to a reminder when they wrote within this long of it.
REPLY_WINDOW = timedelta(hours=24)
# Time-to-contact bins (hours); the promise itself is added as a bound, so it is marked.
CONTACT_BIN_HOURS = (1, 4, 8, 24, 48, 72)
TOKENS_PER_PRICE_UNIT = 1_000_000


class ReportSource(StrEnum):
    """Where a request came from, as the reports tell them apart."""

    CHAT = "chat"
    VOICE = "voice"
    SMS = "sms"
    API = "api"


SOURCE_LABELS = {
    ReportSource.CHAT: staff_text("Chat"),
    ReportSource.VOICE: staff_text("Voice"),
    ReportSource.SMS: "SMS",
    ReportSource.API: "API",
}


class BacklogAge(StrEnum):
    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"


BACKLOG_LABELS = {
    BacklogAge.ON_TIME: staff_text("Under the promise"),
    BacklogAge.AT_RISK: staff_text("At risk"),
    BacklogAge.OVERDUE: staff_text("Overdue"),
}


# --- the period -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """One local day or week: [start, end) as UTC instants."""

    label: str
    first_day: date
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Period:
    """Whole local days, first to last inclusive, in the tenant's time zone.
    `last_days`: 7, 30 or 90 for "last N days" (None: a from-to range)."""

    first_day: date
    last_day: date
    zone: str
    last_days: int | None = None

    @property
    def start(self) -> datetime:
        return _local_midnight(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return _local_midnight(self.last_day + timedelta(days=1), self.zone)

    @property
    def description(self) -> str:
        if self.last_days:
            return staff_gettext("the last %(days)s days", days=self.last_days)
        return staff_gettext(
            "the days %(first)s to %(last)s", first=_day(self.first_day), last=_day(self.last_day)
        )

    def days(self) -> list[Bucket]:
        count = (self.last_day - self.first_day).days + 1
        days = (self.first_day + timedelta(days=n) for n in range(count))
        return [self._bucket(day, 1, _short_day(day)) for day in days]

    def weeks(self) -> list[Bucket]:
        """Weeks from Monday, the first and last clipped to the period."""
        monday = self.first_day - timedelta(days=self.first_day.weekday())
        buckets = []
        while monday <= self.last_day:
            first = max(monday, self.first_day)
            last = min(monday + timedelta(days=6), self.last_day)
            label = staff_gettext("Week of %(day)s", day=_short_day(first))
            buckets.append(self._bucket(first, (last - first).days + 1, label))
            monday += timedelta(days=7)
        return buckets

    def _bucket(self, first: date, days: int, label: str) -> Bucket:
        end = _local_midnight(first + timedelta(days=days), self.zone)
        return Bucket(label, first, _local_midnight(first, self.zone), end)


def _short_day(day: date) -> str:
    return f"{day.day} {day:%b}"  # "1 Apr", not "01 Apr"


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _local_midnight(day: date, zone: str) -> datetime:
    """The UTC instant the local day begins (zoneinfo handles a skipped midnight)."""
    return datetime.combine(day, time(0), ZoneInfo(zone)).astimezone(UTC)


# The period's fields, as the form labels them.
FROM, TO = staff_text("From"), staff_text("To")


def _parse_day(raw: str, field: str, label: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        advice = staff_text("give a date as YYYY-MM-DD.")
        raise ValidationFailed({field: problem(label, advice)}) from None


def period_of(
    zone: str,
    last_days: str | int | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    now: datetime | None = None,
) -> Period:
    """The period a report covers: the last 7, 30 or 90 local days up to today, or the
    local days from `date_from` to `date_to` (both included). Refuses what is not."""
    if date_from or date_to:
        if not (date_from and date_to):
            field, label = ("from", FROM) if not date_from else ("to", TO)
            advice = staff_text("give both dates, or neither.")
            raise ValidationFailed({field: problem(label, advice)})
        first, last = _parse_day(date_from, "from", FROM), _parse_day(date_to, "to", TO)
        if last < first:
            advice = staff_text("pick a day on or after From.")
            raise ValidationFailed({"to": problem(TO, advice)})
        if (last - first).days + 1 > MAX_PERIOD_DAYS:
            advice = staff_gettext("a report covers at most %(days)s days.", days=MAX_PERIOD_DAYS)
            raise ValidationFailed({"to": problem(TO, advice)})
        return Period(first, last, zone)
    days = DEFAULT_DAYS if last_days in (None, "") else _known_span(last_days)
    today = (now or utcnow()).astimezone(ZoneInfo(zone)).date()
    return Period(today - timedelta(days=days - 1), today, zone, days)


def _known_span(raw: str | int) -> int:
    try:
        days = int(raw)
    except (TypeError, ValueError):
        days = 0
    if days not in LAST_DAYS:
        spans = ", ".join(str(d) for d in LAST_DAYS)
        advice = staff_gettext("choose the last %(spans)s days.", spans=spans)
        raise ValidationFailed({"days": problem(staff_text("Period"), advice)})
    return days


def _bucket_index(column, buckets: Sequence[Bucket]) -> ColumnElement:
    """SQL: the index of the bucket `column` falls in (rows outside are filtered out)."""
    return case(
        *((column < bucket.end, index) for index, bucket in enumerate(buckets)),
        else_=literal(-1),
    )


def _agent_names(tenant_id: int) -> dict[int, str]:
    """{id: name} of the tenant's AI employees: the labels of the grouped rows."""
    return dict(
        db.session.execute(select(Agent.id, Agent.name).where(Agent.tenant_id == tenant_id)).all()
    )


def _staff_names(tenant_id: int) -> dict[int, str]:
    """{id: name} of the tenant's members, as the app names them everywhere (a member
    who gave no name goes by their email)."""
    members = db.session.scalars(select(StaffUser).where(StaffUser.tenant_id == tenant_id))
    return {member.id: member.display_name for member in members}


def _within(column, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start, column < period.end)


def median_by(source: Select, group: str, value: str) -> dict:
    """{group: median of value} over the rows of `source` (a select with those two
    labelled columns), in SQL on both databases: the middle row (or the two middle rows'
    mean) of each group by row number."""
    rows = source.subquery("median_rows")
    ranked = select(
        rows.c[group].label("g"),
        rows.c[value].label("v"),
        func.row_number().over(partition_by=rows.c[group], order_by=rows.c[value]).label("rn"),
        func.count().over(partition_by=rows.c[group]).label("n"),
    ).subquery("ranked")
    middle = or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
    statement = select(ranked.c.g, func.avg(ranked.c.v)).where(middle).group_by(ranked.c.g)
    return {g: float(v) for g, v in db.session.execute(statement)}


# --- follow-ups -----------------------------------------------------------------------------

_REPORT_SOURCE = case(
    (and_(FollowUpRequest.source == Source.TEXT, Chat.channel == Channel.SMS), ReportSource.SMS),
    (FollowUpRequest.source == Source.TEXT, ReportSource.CHAT),
    (FollowUpRequest.source == Source.VOICE, ReportSource.VOICE),
    else_=ReportSource.API,
)
_CONTACT_SECONDS = seconds_between(FollowUpRequest.created_at, FollowUpRequest.contacted_at)
_WITHIN_PROMISE = and_(
    FollowUpRequest.contacted_at.is_not(None),
    FollowUpRequest.contacted_at < FollowUpRequest.due_at,
)


def _decided(now: datetime) -> ColumnElement[bool]:
    """A request whose promise is settled: contacted, or still pending past its due time
    (a request cancelled before contact is out of the count)."""
    return or_(
        FollowUpRequest.contacted_at.is_not(None),
        and_(FollowUpRequest.status == Status.PENDING, FollowUpRequest.past_due(now)),
    )


def _followups(tenant_id: int, agent_id: int | None, *columns) -> Select:
    statement = (
        select(*columns)
        .select_from(FollowUpRequest)
        .outerjoin(Chat, Chat.id == FollowUpRequest.chat_id)
        .where(FollowUpRequest.tenant_id == tenant_id)
    )
    if agent_id is not None:
        statement = statement.where(Chat.agent_id == agent_id)
    return statement


@dataclass(frozen=True)
class ContactBin:
    label: str
    low_hours: int
    high_hours: int | None  # None: open-ended
    count: int


@dataclass(frozen=True)
class AssigneeRow:
    assignee_id: int | None
    name: str
    requests: int
    handled: int
    median_contact_seconds: float | None
    decided: int
    within_promise: int

    @property
    def within_share(self) -> float | None:
        return self.within_promise / self.decided if self.decided else None


@dataclass(frozen=True)
class ShareRow:
    label: str
    decided: int
    within_promise: int

    @property
    def share(self) -> float | None:
        return self.within_promise / self.decided if self.decided else None


@dataclass
class FollowupFigures:
    days: list[Bucket]
    per_day: list[dict[ReportSource, int]]
    promise_hours: int
    contact_bins: list[ContactBin]
    contacted: int
    within_promise: int
    decided: int
    weeks: list[ShareRow]
    backlog: dict[BacklogAge, int]

    @property
    def total(self) -> int:
        return sum(sum(day.values()) for day in self.per_day)

    @property
    def within_share(self) -> float | None:
        return self.within_promise / self.decided if self.decided else None


def requests_per_day(
    tenant_id: int, period: Period, agent_id: int | None = None
) -> list[dict[ReportSource, int]]:
    days = period.days()
    rows = _followups(
        tenant_id,
        agent_id,
        _bucket_index(FollowUpRequest.created_at, days).label("day"),
        _REPORT_SOURCE.label("source"),
    ).where(_within(FollowUpRequest.created_at, period))
    counted = rows.subquery()
    statement = select(counted.c.day, counted.c.source, func.count()).group_by(
        counted.c.day, counted.c.source
    )
    per_day = [dict.fromkeys(ReportSource, 0) for _ in days]
    for day, source, count in db.session.execute(statement):
        per_day[day][ReportSource(source)] = count
    return per_day


def contact_bins(
    tenant_id: int, period: Period, promise_hours: int, agent_id: int | None = None
) -> list[ContactBin]:
    """How long the requests made in the period waited for first contact, in bins of
    hours whose bounds include the promise."""
    bounds = sorted({*CONTACT_BIN_HOURS, promise_hours})
    hours = _CONTACT_SECONDS / 3600.0
    which = case(*((hours < bound, index) for index, bound in enumerate(bounds)), else_=len(bounds))
    rows = (
        _followups(tenant_id, agent_id, which.label("bin"))
        .where(_within(FollowUpRequest.created_at, period))
        .where(FollowUpRequest.contacted_at.is_not(None))
        .subquery()
    )
    counts = dict(db.session.execute(select(rows.c.bin, func.count()).group_by(rows.c.bin)).all())
    lows = (0, *bounds)
    highs = (*bounds, None)
    return [
        ContactBin(
            f"{low}-{high} h" if high is not None else f"{low} h +", low, high, counts.get(n, 0)
        )
        for n, (low, high) in enumerate(zip(lows, highs, strict=True))
    ]


def promise_totals(
    tenant_id: int, period: Period, agent_id: int | None = None, now: datetime | None = None
) -> tuple[int, int, int]:
    """(contacted, contacted within the promise, decided) of the requests made in the period."""
    now = now or utcnow()
    statement = _followups(
        tenant_id,
        agent_id,
        func.count(FollowUpRequest.contacted_at),
        func.count(case((_WITHIN_PROMISE, 1))),
        func.count(case((_decided(now), 1))),
    ).where(_within(FollowUpRequest.created_at, period))
    contacted, within, decided = db.session.execute(statement).one()
    return contacted, within, decided


def promise_per_week(
    tenant_id: int, period: Period, agent_id: int | None = None, now: datetime | None = None
) -> list[ShareRow]:
    now = now or utcnow()
    weeks = period.weeks()
    rows = (
        _followups(
            tenant_id,
            agent_id,
            _bucket_index(FollowUpRequest.created_at, weeks).label("week"),
            case((_decided(now), 1), else_=0).label("decided"),
            case((_WITHIN_PROMISE, 1), else_=0).label("within"),
        )
        .where(_within(FollowUpRequest.created_at, period))
        .subquery()
    )
    statement = select(rows.c.week, func.sum(rows.c.decided), func.sum(rows.c.within)).group_by(
        rows.c.week
    )
    found = {week: (int(d or 0), int(w or 0)) for week, d, w in db.session.execute(statement)}
    return [ShareRow(bucket.label, *found.get(n, (0, 0))) for n, bucket in enumerate(weeks)]


def backlog(
    tenant_id: int, agent_id: int | None = None, now: datetime | None = None
) -> dict[BacklogAge, int]:
    """The requests pending now, by where they stand against their promise (the rule of
    `services.promise`, in its SQL twins)."""
    now = now or utcnow()
    age = case(
        (FollowUpRequest.past_due(now), BacklogAge.OVERDUE),
        (FollowUpRequest.at_risk_by(now), BacklogAge.AT_RISK),
        else_=BacklogAge.ON_TIME,
    )
    rows = (
        _followups(tenant_id, agent_id, age.label("age"))
        .where(FollowUpRequest.status == Status.PENDING)
        .subquery()
    )
    counts = dict.fromkeys(BacklogAge, 0)
    for value, count in db.session.execute(select(rows.c.age, func.count()).group_by(rows.c.age)):
        counts[BacklogAge(value)] = count
    return counts


def per_assignee(
    tenant_id: int,
    period: Period,
    agent_id: int | None = None,
    only_assignee: int | None = None,
    now: datetime | None = None,
) -> list[AssigneeRow]:
    """Per assignee (None: unassigned), the requests made in the period: how many,
    contacted ("handled"), the median time to contact, and the promise kept."""
    now = now or utcnow()

    def scoped(statement: Select) -> Select:
        statement = statement.where(_within(FollowUpRequest.created_at, period))
        if only_assignee is not None:
            statement = statement.where(FollowUpRequest.assignee_id == only_assignee)
        return statement

    counts = scoped(
        _followups(
            tenant_id,
            agent_id,
            FollowUpRequest.assignee_id,
            func.count(),
            func.count(FollowUpRequest.contacted_at),
            func.count(case((_decided(now), 1))),
            func.count(case((_WITHIN_PROMISE, 1))),
        )
    ).group_by(FollowUpRequest.assignee_id)
    waits = scoped(
        _followups(
            tenant_id,
            agent_id,
            FollowUpRequest.assignee_id.label("assignee"),
            _CONTACT_SECONDS.label("seconds"),
        ).where(FollowUpRequest.contacted_at.is_not(None))
    )
    medians = median_by(waits, "assignee", "seconds")
    names = _staff_names(tenant_id)
    rows = [
        AssigneeRow(
            assignee_id,
            names[assignee_id] if assignee_id else staff_gettext("Unassigned"),
            requests,
            handled,
            medians.get(assignee_id),
            decided,
            within,
        )
        for assignee_id, requests, handled, decided, within in db.session.execute(counts)
    ]
    return sorted(rows, key=lambda row: (row.assignee_id is None, row.name.lower()))


def followup_figures(
    tenant_id: int,
    period: Period,
    promise_hours: int,
    agent_id: int | None = None,
    now: datetime | None = None,
) -> FollowupFigures:
    now = now or utcnow()
    contacted, within, decided = promise_totals(tenant_id, period, agent_id, now)
    return FollowupFigures(
        days=period.days(),
        per_day=requests_per_day(tenant_id, period, agent_id),
        promise_hours=promise_hours,
        contact_bins=contact_bins(tenant_id, period, promise_hours, agent_id),
        contacted=contacted,
        within_promise=within,
        decided=decided,
        weeks=promise_per_week(tenant_id, period, agent_id, now),
        backlog=backlog(tenant_id, agent_id, now),
    )


# --- auto follow-up -------------------------------------------------------------------------

_WROTE_BACK = exists().where(
    Message.chat_id == ReminderSend.chat_id,
    Message.role == Role.CLIENT,
    Message.created_at > ReminderSend.sent_at,
    seconds_between(ReminderSend.sent_at, Message.created_at) <= REPLY_WINDOW.total_seconds(),
)


@dataclass(frozen=True)
class StepRow:
    step_id: int
    agent_name: str
    position: int
    sent: int
    replied: int

    @property
    def reply_share(self) -> float | None:
        return self.replied / self.sent if self.sent else None


@dataclass(frozen=True)
class EmployeeChainRow:
    agent_id: int
    name: str
    chats: int
    sent: int
    replied: int
    exhausted: int
    opted_out: int

    @property
    def reply_share(self) -> float | None:
        return self.replied / self.sent if self.sent else None


@dataclass
class ChainFigures:
    chats: int
    sent: int
    replied: int
    exhausted: int
    opted_out: int
    steps: list[StepRow]
    employees: list[EmployeeChainRow]

    @property
    def reply_share(self) -> float | None:
        return self.replied / self.sent if self.sent else None


def _sends(tenant_id: int, period: Period, agent_id: int | None, *columns) -> Select:
    statement = (
        select(*columns)
        .select_from(ReminderSend)
        .join(Chat, Chat.id == ReminderSend.chat_id)
        .where(Chat.tenant_id == tenant_id, _within(ReminderSend.sent_at, period))
    )
    return statement if agent_id is None else statement.where(Chat.agent_id == agent_id)


def step_figures(tenant_id: int, period: Period, agent_id: int | None = None) -> list[StepRow]:
    """Per step, the reminders sent in the period and how many got a reply within 24 h."""
    replied = func.count(case((_WROTE_BACK, 1)))
    statement = (
        _sends(
            tenant_id,
            period,
            agent_id,
            AutoFollowupStep.id,
            Agent.name,
            AutoFollowupStep.position,
            func.count(),
            replied,
        )
        .join(AutoFollowupStep, AutoFollowupStep.id == ReminderSend.step_id)
        .join(Agent, Agent.id == AutoFollowupStep.agent_id)
        .group_by(AutoFollowupStep.id, Agent.name, AutoFollowupStep.position)
        .order_by(Agent.name, AutoFollowupStep.position)
    )
    return [StepRow(*row) for row in db.session.execute(statement)]


def recent_step_figures(tenant_id: int, agent_id: int, zone: str) -> dict[int, StepRow]:
    """{step id: its figures} over the last 30 days: what each step card of the employee's
    Auto Follow-up tab shows."""
    period = period_of(zone, DEFAULT_DAYS)
    return {row.step_id: row for row in step_figures(tenant_id, period, agent_id)}


def _exhausted_per_agent(tenant_id: int, period: Period, agent_id: int | None) -> dict[int, int]:
    """Chats whose chain ran out (every step sent), by the time of their last reminder."""
    last_sent = (
        select(Chat.agent_id.label("agent_id"), func.max(ReminderSend.sent_at).label("last"))
        .join(Chat, Chat.id == ReminderSend.chat_id)
        .where(Chat.tenant_id == tenant_id, Chat.chain_ended == ChainEnd.EXHAUSTED)
        .group_by(ReminderSend.chat_id, Chat.agent_id)
        .subquery()
    )
    statement = (
        select(last_sent.c.agent_id, func.count())
        .where(_within(last_sent.c.last, period))
        .group_by(last_sent.c.agent_id)
    )
    if agent_id is not None:
        statement = statement.where(last_sent.c.agent_id == agent_id)
    return dict(db.session.execute(statement).all())


def _opted_out_per_agent(tenant_id: int, period: Period, agent_id: int | None) -> dict[int, int]:
    statement = (
        select(Chat.agent_id, func.count())
        .where(Chat.tenant_id == tenant_id, _within(Chat.opted_out_at, period))
        .group_by(Chat.agent_id)
    )
    if agent_id is not None:
        statement = statement.where(Chat.agent_id == agent_id)
    return dict(db.session.execute(statement).all())


def chain_figures(tenant_id: int, period: Period, agent_id: int | None = None) -> ChainFigures:
    """Chats that entered a chain (got a reminder in the period), reminders sent and
    answered, chains exhausted and opt-outs, per employee and per step."""
    statement = _sends(
        tenant_id,
        period,
        agent_id,
        Chat.agent_id,
        func.count(func.distinct(ReminderSend.chat_id)),
        func.count(),
        func.count(case((_WROTE_BACK, 1))),
    ).group_by(Chat.agent_id)
    sends = {row[0]: row[1:] for row in db.session.execute(statement)}
    exhausted = _exhausted_per_agent(tenant_id, period, agent_id)
    opted_out = _opted_out_per_agent(tenant_id, period, agent_id)
    names = _agent_names(tenant_id)
    employees = [
        EmployeeChainRow(
            agent,
            names.get(agent, ""),
            *sends.get(agent, (0, 0, 0)),
            exhausted.get(agent, 0),
            opted_out.get(agent, 0),
        )
        for agent in sorted({*sends, *exhausted, *opted_out}, key=lambda a: names.get(a, ""))
    ]
    return ChainFigures(
        chats=sum(row.chats for row in employees),
        sent=sum(row.sent for row in employees),
        replied=sum(row.replied for row in employees),
        exhausted=sum(row.exhausted for row in employees),
        opted_out=sum(row.opted_out for row in employees),
        steps=step_figures(tenant_id, period, agent_id),
        employees=employees,
    )


# --- AI -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenDay:
    """Tokens of one employee on one local day."""

    day: int  # index into the period's days
    agent_id: int
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class ModelUse:
    model: str
    input_tokens: int
    output_tokens: int
    cost: Decimal | None  # None: no price set for this model


@dataclass(frozen=True)
class EmployeeAiRow:
    agent_id: int
    name: str
    conversations: int
    customer_messages: int
    handoffs: int
    model_failures: int
    input_tokens: int
    output_tokens: int

    @property
    def handoff_share(self) -> float | None:
        return self.handoffs / self.conversations if self.conversations else None


@dataclass
class AiFigures:
    days: list[Bucket]
    employees: list[EmployeeAiRow]
    token_days: list[TokenDay]
    models: list[ModelUse]
    names: dict[int, str] = field(default_factory=dict)

    def _total(self, name: str) -> int:
        return sum(getattr(row, name) for row in self.employees)

    @property
    def conversations(self) -> int:
        return self._total("conversations")

    @property
    def customer_messages(self) -> int:
        return self._total("customer_messages")

    @property
    def handoffs(self) -> int:
        return self._total("handoffs")

    @property
    def model_failures(self) -> int:
        return self._total("model_failures")

    @property
    def handoff_share(self) -> float | None:
        return self.handoffs / self.conversations if self.conversations else None

    @property
    def cost(self) -> Decimal | None:
        """The estimated cost of the models that have a price (None: none has)."""
        costs = [use.cost for use in self.models if use.cost is not None]
        return sum(costs, Decimal(0)) if costs else None


def _per_agent(statement: Select, tenant_id: int, agent_id: int | None) -> dict[int, tuple]:
    statement = statement.where(Chat.tenant_id == tenant_id).group_by(Chat.agent_id)
    if agent_id is not None:
        statement = statement.where(Chat.agent_id == agent_id)
    return {row[0]: tuple(row[1:]) for row in db.session.execute(statement)}


def _messages(period: Period, *columns) -> Select:
    return (
        select(Chat.agent_id, *columns)
        .select_from(Message)
        .join(Chat, Chat.id == Message.chat_id)
        .where(_within(Message.created_at, period))
    )


def ai_figures(tenant_id: int, period: Period, agent_id: int | None = None) -> AiFigures:
    days = period.days()
    chats = _per_agent(
        select(Chat.agent_id, func.count()).where(_within(Chat.created_at, period)),
        tenant_id,
        agent_id,
    )
    words = _per_agent(
        _messages(
            period,
            func.count(case((Message.role == Role.CLIENT, 1))),
            func.count(case((Message.model_failed.is_(True), 1))),
            func.coalesce(func.sum(Message.prompt_tokens), 0),
            func.coalesce(func.sum(Message.completion_tokens), 0),
        ),
        tenant_id,
        agent_id,
    )
    handoffs = _per_agent(
        select(Chat.agent_id, func.count())
        .select_from(FollowUpRequest)
        .join(Chat, Chat.id == FollowUpRequest.chat_id)
        .where(_within(FollowUpRequest.created_at, period)),
        tenant_id,
        agent_id,
    )
    names = _agent_names(tenant_id)
    employees = []
    for agent in sorted({*chats, *words, *handoffs}, key=lambda a: names.get(a, "")):
        client_messages, failures, input_tokens, output_tokens = words.get(agent, (0, 0, 0, 0))
        employees.append(
            EmployeeAiRow(
                agent,
                names.get(agent, ""),
                conversations=chats.get(agent, (0,))[0],
                customer_messages=client_messages,
                handoffs=handoffs.get(agent, (0,))[0],
                model_failures=failures,
                input_tokens=int(input_tokens),
                output_tokens=int(output_tokens),
            )
        )
    return AiFigures(
        days=days,
        employees=employees,
        token_days=_token_days(tenant_id, period, agent_id),
        models=_model_use(tenant_id, period, agent_id),
        names=names,
    )


def _token_days(tenant_id: int, period: Period, agent_id: int | None) -> list[TokenDay]:
    days = period.days()
    rows = (
        _messages(
            period,
            _bucket_index(Message.created_at, days).label("day"),
            Message.prompt_tokens.label("input"),
            Message.completion_tokens.label("output"),
        )
        .where(Chat.tenant_id == tenant_id, Message.prompt_tokens.is_not(None))
        .subquery()
    )
    statement = select(
        rows.c.day,
        rows.c.agent_id,
        func.sum(rows.c.input),
        func.coalesce(func.sum(rows.c.output), 0),
    ).group_by(rows.c.day, rows.c.agent_id)
    if agent_id is not None:
        statement = statement.where(rows.c.agent_id == agent_id)
    found = [
        TokenDay(day, agent, int(i), int(o)) for day, agent, i, o in db.session.execute(statement)
    ]
    return sorted(found, key=lambda row: (row.day, row.agent_id))


def _model_use(tenant_id: int, period: Period, agent_id: int | None) -> list[ModelUse]:
    statement = (
        _messages(
            period,
            Message.model,
            func.coalesce(func.sum(Message.prompt_tokens), 0),
            func.coalesce(func.sum(Message.completion_tokens), 0),
        )
        .where(Chat.tenant_id == tenant_id, Message.model.is_not(None))
        .group_by(Chat.agent_id, Message.model)
    )
    if agent_id is not None:
        statement = statement.where(Chat.agent_id == agent_id)
    tokens: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _agent, model, input_tokens, output_tokens in db.session.execute(statement):
        tokens[model][0] += int(input_tokens)
        tokens[model][1] += int(output_tokens)
    prices = {price.model: price for price in model_prices(tenant_id)}
    return [
        ModelUse(model, i, o, estimated_cost(prices.get(model), i, o))
        for model, (i, o) in sorted(tokens.items())
    ]


def estimated_cost(
    price: ModelPrice | None, input_tokens: int, output_tokens: int
) -> Decimal | None:
    """What the tokens cost at the model's price; None when no price is set for it."""
    if price is None or (price.input_per_million is None and price.output_per_million is None):
        return None
    per_input = price.input_per_million or Decimal(0)
    per_output = price.output_per_million or Decimal(0)
    return (input_tokens * per_input + output_tokens * per_output) / TOKENS_PER_PRICE_UNIT


def model_prices(tenant_id: int) -> list[ModelPrice]:
    return list(
        db.session.scalars(
            select(ModelPrice).where(ModelPrice.tenant_id == tenant_id).order_by(ModelPrice.model)
        )
    )


# --- the prices behind the cost -----------------------------------------------------------

MAX_PRICE = Decimal("100000")


@dataclass(frozen=True)
class PriceRow:
    model: str
    input_per_million: Decimal | None
    output_per_million: Decimal | None


def price_rows(tenant_id: int) -> list[PriceRow]:
    """Every model the tenant's AI used, and every model priced, with its prices (None:
    blank): what the Settings section lists."""
    used = db.session.scalars(
        select(Message.model)
        .join(Chat, Chat.id == Message.chat_id)
        .where(Chat.tenant_id == tenant_id, Message.model.is_not(None))
        .distinct()
    ).all()
    prices = {price.model: price for price in model_prices(tenant_id)}
    return [
        PriceRow(
            model,
            getattr(prices.get(model), "input_per_million", None),
            getattr(prices.get(model), "output_per_million", None),
        )
        for model in sorted({*used, *prices})
    ]


def _price(raw: str | None, key: str, label: str) -> Decimal | None:
    text = (raw or "").strip().lstrip("$")
    if not text:
        return None
    try:
        price = Decimal(text)
    except ArithmeticError:
        price = None
    if price is None or not price.is_finite() or not 0 <= price <= MAX_PRICE:
        advice = staff_gettext(
            "give dollars per million tokens, from 0 to %(most)s, e.g. 2.50.",
            most=format(MAX_PRICE, ","),
        )
        raise ValidationFailed({key: problem(label, advice)})
    return price.quantize(Decimal("0.0001"))


def save_prices(tenant_id: int, prices: dict[str, tuple[str | None, str | None]]) -> None:
    """Set the price per million input and output tokens of each named model (blank
    clears it). Every bad price is refused at once and nothing is saved."""
    errors = FieldErrors()
    parsed = {}
    for model, (raw_input, raw_output) in prices.items():
        name = model.strip()[:100]
        if not name:
            continue
        parsed[name] = (
            errors.check(
                _price,
                raw_input,
                f"input:{name}",
                staff_gettext("Input price of %(model)s", model=name),
            ),
            errors.check(
                _price,
                raw_output,
                f"output:{name}",
                staff_gettext("Output price of %(model)s", model=name),
            ),
        )
    errors.raise_if_any()
    existing = {price.model: price for price in model_prices(tenant_id)}
    for model, (per_input, per_output) in parsed.items():
        price = existing.get(model)
        if price is None:
            price = ModelPrice(tenant_id=tenant_id, model=model)
            db.session.add(price)
        price.input_per_million, price.output_per_million = per_input, per_output
    db.session.commit()


# --- the whole report -----------------------------------------------------------------------


@dataclass
class Report:
    """The figures of the page; for a member who may see only their own row (an agent),
    `assignees` holds that row and the rest is None."""

    period: Period
    agent_id: int | None
    assignees: list[AssigneeRow]
    followups: FollowupFigures | None = None
    chains: ChainFigures | None = None
    ai: AiFigures | None = None
    satisfaction: RatingSummary | None = None

    @property
    def own_row_only(self) -> bool:
        return self.followups is None


def report(
    tenant_id: int,
    period: Period,
    promise_hours: int,
    agent_id: int | None = None,
    only_assignee: int | None = None,
    now: datetime | None = None,
) -> Report:
    """Every figure of the reports page, or with `only_assignee` that member's row alone."""
    now = now or utcnow()
    assignees = per_assignee(tenant_id, period, agent_id, only_assignee, now)
    if only_assignee is not None:
        return Report(period, agent_id, assignees)
    return Report(
        period,
        agent_id,
        assignees,
        followup_figures(tenant_id, period, promise_hours, agent_id, now),
        chain_figures(tenant_id, period, agent_id),
        ai_figures(tenant_id, period, agent_id),
        rating_summary(tenant_id, period.start, period.end, agent_id),
    )


def _agent_filter(raw: str | None) -> int | None:
    if not raw:
        return None
    agent_id = whole_number(raw, MAX_ID)
    if not agent_id:
        raise ValidationFailed(
            {"agent": problem(staff_text("Agent"), staff_text("give the id of one AI employee."))}
        )
    return agent_id


def requested_report(
    tenant_id: int,
    *,
    days: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    agent: str | None = None,
    only_assignee: int | None = None,
) -> Report:
    """The report a page or API call asks for, from its raw parameters: the last `days`
    local days (default 30), or `date_from` to `date_to` (both or neither), optionally
    for one AI employee of the tenant (another tenant's: NotFound). Every bad field is
    refused at once, in our words."""
    tenant = db.session.get(Tenant, tenant_id)
    errors = FieldErrors()
    period = errors.check(period_of, tenant.timezone, days, date_from, date_to)
    agent_id = errors.check(_agent_filter, agent)
    errors.raise_if_any()
    if agent_id is not None:
        get_agent(tenant_id, agent_id)
    return report(tenant_id, period, tenant.response_time_hours, agent_id, only_assignee)
