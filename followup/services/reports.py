"""Reports: is the promise kept, do the reminders bring people back, what does the AI cost.

Every figure is a sum of the daily rollups (`services.report_rollups`: each tenant's
figures per local day, kept by the workers) over the period's days, grouped by day,
week, source, assignee, step or employee. Days and weeks are the tenant's local ones,
computed with zoneinfo (a day of 23 or 25 hours at a change of daylight saving time is
still one day). Read live, as they change by the minute: the requests not due yet (the
promise still undecided) and the backlog's last week.
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    select,
)

from followup.clock import utcnow
from followup.errors import ValidationFailed
from followup.extensions import db
from followup.locales import staff_gettext, staff_text
from followup.models import (
    RESPONSE_TIME_HOURS_RANGE,
    Agent,
    AutoFollowupStep,
    Chat,
    FollowUpRequest,
    Message,
    ModelPrice,
    ReportMetric,
    StaffUser,
    Status,
    Tenant,
)
from followup.services import report_rollups
from followup.services.agents import get_agent
from followup.services.queries import MAX_ID
from followup.services.report_rollups import PeriodCounts, ReportSource
from followup.services.satisfaction import Summary as RatingSummary
from followup.services.satisfaction import summary as rating_summary
from followup.services.validation import FieldErrors, problem, whole_number

LAST_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_PERIOD_DAYS = 366
# Time-to-contact bins (hours); the promise itself is added as a bound, so it is marked.
CONTACT_BIN_HOURS = (1, 4, 8, 24, 48, 72)
TOKENS_PER_PRICE_UNIT = 1_000_000
# No request is promised for longer: every one made before is due.
LONGEST_PROMISE_HOURS = RESPONSE_TIME_HOURS_RANGE[1]


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
        return report_rollups.local_midnight(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return report_rollups.local_midnight(self.last_day + timedelta(days=1), self.zone)

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
        end = report_rollups.local_midnight(first + timedelta(days=days), self.zone)
        return Bucket(label, first, report_rollups.local_midnight(first, self.zone), end)


def _short_day(day: date) -> str:
    return f"{day.day} {day:%b}"  # "1 Apr", not "01 Apr"


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


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


# --- reading the rollups ----------------------------------------------------------------


def _read(
    tenant_id: int, period: Period, agent_id: int | None, now: datetime | None = None
) -> PeriodCounts:
    counts = report_rollups.read_period(
        tenant_id, period.zone, period.first_day, period.last_day, agent_id
    )
    return replace(counts, not_due=_not_due_yet(tenant_id, period, agent_id, now or utcnow()))


def _not_due_yet(
    tenant_id: int, period: Period, agent_id: int | None, now: datetime
) -> list[tuple[int, int | None, int]]:
    """(day index, assignee, count) of the requests made in the period that are pending,
    never contacted and not due yet: undecided. Read live (they are the last promise's
    worth of requests), as the rollups hold every pending one."""
    days = period.days()
    rows = (
        _followups(
            tenant_id,
            agent_id,
            _bucket_index(FollowUpRequest.created_at, days).label("day"),
            FollowUpRequest.assignee_id.label("assignee"),
        )
        .where(report_rollups.NOT_CONTACTED_YET, FollowUpRequest.due_at > now)
        .where(_within(FollowUpRequest.created_at, period))
        .subquery()
    )
    statement = select(rows.c.day, rows.c.assignee, func.count()).group_by(
        rows.c.day, rows.c.assignee
    )
    return [tuple(row) for row in db.session.execute(statement)]


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


def median_of_buckets(buckets: dict[int, int]) -> float | None:
    """The median of counts kept by bucket ({bucket start in minutes: count}), in
    seconds: the middle one's bucket start, or the mean of the two middle ones'."""
    total = sum(buckets.values())
    if not total:
        return None
    wanted = sorted({(total + 1) // 2, (total + 2) // 2})
    found, seen = [], 0
    for minutes in sorted(buckets):
        seen += buckets[minutes]
        while wanted and wanted[0] <= seen:
            found.append(minutes * 60)
            wanted.pop(0)
    return sum(found) / len(found)


# --- follow-ups -----------------------------------------------------------------------------


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
    tenant_id: int, period: Period, agent_id: int | None = None, counts: PeriodCounts | None = None
) -> list[dict[ReportSource, int]]:
    counts = counts or _read(tenant_id, period, agent_id)
    index = {bucket.first_day: n for n, bucket in enumerate(period.days())}
    per_day = [dict.fromkeys(ReportSource, 0) for _ in index]
    for row in counts.days(ReportMetric.REQUESTS):
        per_day[index[row.day]][ReportSource(row.key)] += row.value
    return per_day


def _bin_label(low: int, high: int | None) -> str:
    if high is None:
        return staff_gettext("%(low)s h +", low=low)
    return staff_gettext("%(low)s-%(high)s h", low=low, high=high)


def contact_bins(
    tenant_id: int,
    period: Period,
    promise_hours: int,
    agent_id: int | None = None,
    counts: PeriodCounts | None = None,
) -> list[ContactBin]:
    """How long the requests made in the period waited for first contact, in bins of
    hours whose bounds include the promise."""
    counts = counts or _read(tenant_id, period, agent_id)
    bounds = sorted({*CONTACT_BIN_HOURS, promise_hours})
    in_bin = [0] * (len(bounds) + 1)
    for minutes, count in counts.by(ReportMetric.CONTACT_MINUTES, "key").items():
        hours = int(minutes) / 60
        in_bin[next((n for n, bound in enumerate(bounds) if hours < bound), len(bounds))] += count
    lows, highs = (0, *bounds), (*bounds, None)
    return [
        ContactBin(_bin_label(low, high), low, high, in_bin[n])
        for n, (low, high) in enumerate(zip(lows, highs, strict=True))
    ]


def promise_totals(
    tenant_id: int,
    period: Period,
    agent_id: int | None = None,
    now: datetime | None = None,
    counts: PeriodCounts | None = None,
) -> tuple[int, int, int]:
    """(contacted, contacted within the promise, decided) of the requests made in the period."""
    counts = counts or _read(tenant_id, period, agent_id, now)
    not_due = sum(n for _d, _a, n in counts.not_due)
    contacted = counts.total(ReportMetric.CONTACTED)
    past_due = max(counts.total(ReportMetric.PENDING) - not_due, 0)
    return contacted, counts.total(ReportMetric.WITHIN_PROMISE), contacted + past_due


def promise_per_week(
    tenant_id: int,
    period: Period,
    agent_id: int | None = None,
    now: datetime | None = None,
    counts: PeriodCounts | None = None,
) -> list[ShareRow]:
    counts = counts or _read(tenant_id, period, agent_id, now)
    weeks = period.weeks()
    starts = [week.first_day for week in weeks]
    days = period.days()

    def week_of(day: date) -> int:
        return bisect_right(starts, day) - 1

    sums = {metric: [0] * len(weeks) for metric in _WEEKLY}
    for metric in _WEEKLY:
        for row in counts.days(metric):
            sums[metric][week_of(row.day)] += row.value
    not_due = [0] * len(weeks)
    for day, _assignee, count in counts.not_due:
        not_due[week_of(days[day].first_day)] += count
    return [
        ShareRow(
            week.label,
            sums[ReportMetric.CONTACTED][n] + max(sums[ReportMetric.PENDING][n] - not_due[n], 0),
            sums[ReportMetric.WITHIN_PROMISE][n],
        )
        for n, week in enumerate(weeks)
    ]


_WEEKLY = (ReportMetric.CONTACTED, ReportMetric.PENDING, ReportMetric.WITHIN_PROMISE)


def backlog(
    tenant_id: int, agent_id: int | None = None, now: datetime | None = None
) -> dict[BacklogAge, int]:
    """The requests pending now, by where they stand against their promise (the rule of
    `services.promise`, in its SQL twins). Those made before the longest promise ago are
    all overdue: the rollups count them (once every day is counted; live until then);
    the recent ones are read."""
    now = now or utcnow()
    zone = db.session.get(Tenant, tenant_id).timezone
    recent_day = report_rollups.local_day(now - timedelta(hours=LONGEST_PROMISE_HOURS), zone)
    older = report_rollups.pending_before(tenant_id, zone, recent_day, agent_id)
    pending = _followups(tenant_id, agent_id).where(FollowUpRequest.status == Status.PENDING)
    if older is not None:
        since = report_rollups.local_midnight(recent_day, zone)
        pending = pending.where(FollowUpRequest.created_at >= since)
    age = case(
        (FollowUpRequest.past_due(now), BacklogAge.OVERDUE),
        (FollowUpRequest.at_risk_by(now), BacklogAge.AT_RISK),
        else_=BacklogAge.ON_TIME,
    )
    rows = pending.add_columns(age.label("age")).subquery()
    counts = dict.fromkeys(BacklogAge, 0)
    for value, count in db.session.execute(select(rows.c.age, func.count()).group_by(rows.c.age)):
        counts[BacklogAge(value)] = count
    counts[BacklogAge.OVERDUE] += older or 0
    return counts


def per_assignee(
    tenant_id: int,
    period: Period,
    agent_id: int | None = None,
    only_assignee: int | None = None,
    now: datetime | None = None,
    counts: PeriodCounts | None = None,
) -> list[AssigneeRow]:
    """Per assignee (None: unassigned), the requests made in the period: how many,
    contacted ("handled"), the median time to contact, and the promise kept."""
    counts = counts or _read(tenant_id, period, agent_id, now)
    names = _staff_names(tenant_id)

    def who(assignee_id: int | None) -> int | None:
        # A member removed since their day was counted: the database unassigned theirs.
        return assignee_id if assignee_id in names else None

    sums: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    buckets: dict[int | None, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in counts.totals:
        if row.metric == ReportMetric.CONTACT_MINUTES:
            buckets[who(row.assignee_id)][int(row.key)] += row.value
        else:
            sums[who(row.assignee_id)][row.metric] += row.value
    for _day, assignee_id, count in counts.not_due:
        sums[who(assignee_id)]["not_due"] += count
    rows = [
        AssigneeRow(
            assignee_id,
            names[assignee_id] if assignee_id else staff_gettext("Unassigned"),
            figures[ReportMetric.REQUESTS],
            figures[ReportMetric.CONTACTED],
            median_of_buckets(buckets[assignee_id]),
            figures[ReportMetric.CONTACTED]
            + max(figures[ReportMetric.PENDING] - figures["not_due"], 0),
            figures[ReportMetric.WITHIN_PROMISE],
        )
        for assignee_id, figures in sums.items()
        if figures[ReportMetric.REQUESTS]
        and (only_assignee is None or assignee_id == only_assignee)
    ]
    return sorted(rows, key=lambda row: (row.assignee_id is None, row.name.lower()))


def followup_figures(
    tenant_id: int,
    period: Period,
    promise_hours: int,
    agent_id: int | None = None,
    now: datetime | None = None,
    counts: PeriodCounts | None = None,
) -> FollowupFigures:
    now = now or utcnow()
    counts = counts or _read(tenant_id, period, agent_id, now)
    contacted, within, decided = promise_totals(tenant_id, period, agent_id, now, counts)
    return FollowupFigures(
        days=period.days(),
        per_day=requests_per_day(tenant_id, period, agent_id, counts),
        promise_hours=promise_hours,
        contact_bins=contact_bins(tenant_id, period, promise_hours, agent_id, counts),
        contacted=contacted,
        within_promise=within,
        decided=decided,
        weeks=promise_per_week(tenant_id, period, agent_id, now, counts),
        backlog=backlog(tenant_id, agent_id, now),
    )


# --- auto follow-up -------------------------------------------------------------------------


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


def step_figures(
    tenant_id: int, period: Period, agent_id: int | None = None, counts: PeriodCounts | None = None
) -> list[StepRow]:
    """Per step, the reminders sent in the period and how many got a reply within 24 h."""
    counts = counts or _read(tenant_id, period, agent_id)
    sent = {int(k): n for k, n in counts.by(ReportMetric.REMINDERS, "key").items()}
    replied = {int(k): n for k, n in counts.by(ReportMetric.REPLIED, "key").items()}
    steps = db.session.execute(
        select(AutoFollowupStep.id, Agent.name, AutoFollowupStep.position)
        .join(Agent, Agent.id == AutoFollowupStep.agent_id)
        .where(Agent.tenant_id == tenant_id, AutoFollowupStep.id.in_(list(sent)))
        .order_by(Agent.name, AutoFollowupStep.position)
    )
    return [
        StepRow(step_id, name, position, sent[step_id], replied.get(step_id, 0))
        for step_id, name, position in steps
    ]


def recent_step_figures(tenant_id: int, agent_id: int, zone: str) -> dict[int, StepRow]:
    """{step id: its figures} over the last 30 days: what each step card of the employee's
    Auto Follow-up tab shows."""
    period = period_of(zone, DEFAULT_DAYS)
    return {row.step_id: row for row in step_figures(tenant_id, period, agent_id)}


def chain_figures(
    tenant_id: int, period: Period, agent_id: int | None = None, counts: PeriodCounts | None = None
) -> ChainFigures:
    """Chats that entered a chain (got its first reminder in the period), reminders sent
    and answered, chains exhausted and opt-outs, per employee and per step."""
    counts = counts or _read(tenant_id, period, agent_id)
    figures = {metric: counts.by(metric, "agent_id") for metric in _CHAIN_METRICS}
    names = _agent_names(tenant_id)
    agents = {agent for per_agent in figures.values() for agent in per_agent}
    employees = [
        EmployeeChainRow(
            agent,
            names.get(agent, ""),
            *(figures[metric].get(agent, 0) for metric in _CHAIN_METRICS),
        )
        for agent in sorted(agents, key=lambda a: names.get(a, ""))
    ]
    return ChainFigures(
        chats=sum(row.chats for row in employees),
        sent=sum(row.sent for row in employees),
        replied=sum(row.replied for row in employees),
        exhausted=sum(row.exhausted for row in employees),
        opted_out=sum(row.opted_out for row in employees),
        steps=step_figures(tenant_id, period, agent_id, counts),
        employees=employees,
    )


# In EmployeeChainRow's order.
_CHAIN_METRICS = (
    ReportMetric.CHAINS_ENTERED,
    ReportMetric.REMINDERS,
    ReportMetric.REPLIED,
    ReportMetric.EXHAUSTED,
    ReportMetric.OPTED_OUT,
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


# In EmployeeAiRow's order, after the name.
_AI_METRICS = (
    ReportMetric.CONVERSATIONS,
    ReportMetric.CUSTOMER_MESSAGES,
    ReportMetric.HANDOFFS,
    ReportMetric.MODEL_FAILURES,
    ReportMetric.INPUT_TOKENS,
    ReportMetric.OUTPUT_TOKENS,
)


def ai_figures(
    tenant_id: int, period: Period, agent_id: int | None = None, counts: PeriodCounts | None = None
) -> AiFigures:
    counts = counts or _read(tenant_id, period, agent_id)
    figures = {metric: counts.by(metric, "agent_id") for metric in _AI_METRICS}
    names = _agent_names(tenant_id)
    # A handoff of a request with no chat has no employee: it is not the AI's.
    agents = {agent for per_agent in figures.values() for agent in per_agent if agent is not None}
    employees = [
        EmployeeAiRow(
            agent, names.get(agent, ""), *(figures[metric].get(agent, 0) for metric in _AI_METRICS)
        )
        for agent in sorted(agents, key=lambda a: names.get(a, ""))
    ]
    return AiFigures(
        days=period.days(),
        employees=employees,
        token_days=_token_days(period, counts),
        models=_model_use(tenant_id, counts),
        names=names,
    )


def _token_days(period: Period, counts: PeriodCounts) -> list[TokenDay]:
    index = {bucket.first_day: n for n, bucket in enumerate(period.days())}
    tokens: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for side, metric in enumerate((ReportMetric.INPUT_TOKENS, ReportMetric.OUTPUT_TOKENS)):
        for row in counts.days(metric):
            tokens[(index[row.day], row.agent_id)][side] += row.value
    return [TokenDay(day, agent, i, o) for (day, agent), (i, o) in sorted(tokens.items())]


def _model_use(tenant_id: int, counts: PeriodCounts) -> list[ModelUse]:
    used_in = counts.by(ReportMetric.INPUT_TOKENS, "key")
    used_out = counts.by(ReportMetric.OUTPUT_TOKENS, "key")
    prices = {price.model: price for price in model_prices(tenant_id)}
    models = sorted(model for model in {*used_in, *used_out} if model)  # "": no model named
    return [
        ModelUse(
            model,
            used_in.get(model, 0),
            used_out.get(model, 0),
            estimated_cost(prices.get(model), used_in.get(model, 0), used_out.get(model, 0)),
        )
        for model in models
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
    `assignees` holds that row and the rest is None. `as_of`: how fresh the counted days
    are (see `report_rollups.as_of`)."""

    period: Period
    agent_id: int | None
    assignees: list[AssigneeRow]
    as_of: datetime | None = None
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
    counts = _read(tenant_id, period, agent_id, now)
    as_of = report_rollups.as_of(counts.counted, period.zone)
    assignees = per_assignee(tenant_id, period, agent_id, only_assignee, now, counts)
    if only_assignee is not None:
        return Report(period, agent_id, assignees, as_of)
    return Report(
        period,
        agent_id,
        assignees,
        as_of,
        followup_figures(tenant_id, period, promise_hours, agent_id, now, counts),
        chain_figures(tenant_id, period, agent_id, counts),
        ai_figures(tenant_id, period, agent_id, counts),
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
