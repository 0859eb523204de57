"""The reports' daily rollups: each tenant's figures per local day
(`models.report_rollup`), so a report of 90 days sums a few thousand rows instead of
reading millions.

Who counts a day, and when:
- the workers' pass (`refresh`, every REPORT_REFRESH_INTERVAL_S): the days still
  changing (those the last REPLY_WINDOW touches: new chats, messages, reminders and the
  replies to them land there) and the days of follow-ups changed since their day was
  counted (a request contacted, assigned or cancelled days after it was made: the marks);
- a report, for the days of its period never counted (a new install, an old period) and
  the marked ones, before it reads.
A day is counted whole, again: its rows are deleted and written anew in one transaction,
under a lock on its report_days row, so a page and a worker counting it at once leave
one set of rows.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    event,
    exists,
    func,
    inspect,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from followup.clock import utcnow
from followup.extensions import db
from followup.models import (
    Agent,
    AutoFollowupStep,
    ChainEnd,
    Channel,
    Chat,
    FollowUpRequest,
    Message,
    ReminderSend,
    ReportCount,
    ReportDay,
    ReportMark,
    ReportMetric,
    Role,
    Source,
    Status,
    Tenant,
)
from followup.models.base import seconds_between, whole_multiples
from followup.queue import first_in_interval

log = logging.getLogger(__name__)
REFRESH_LOCK_KEY = "followup:reports:refresh"
# A customer "wrote back" to a reminder when they wrote within this long of it.
REPLY_WINDOW = timedelta(hours=24)
# Time to contact is kept in buckets of 6 minutes (the page shows tenths of an hour) up
# to 72 hours, then of an hour: whole hours are bucket bounds, so hour bins are exact.
FINE_BUCKET_S = 360
FINE_UNTIL_S = 72 * 3600
COARSE_BUCKET_S = 3600
# Days never counted that one pass counts (newest first), so a pass stays short.
BACKFILL_DAYS = 31


class ReportSource(StrEnum):
    """Where a request came from, as the reports tell them apart."""

    CHAT = "chat"
    VOICE = "voice"
    SMS = "sms"
    API = "api"


_REPORT_SOURCE = case(
    (and_(FollowUpRequest.source == Source.TEXT, Chat.channel == Channel.SMS), ReportSource.SMS),
    (FollowUpRequest.source == Source.TEXT, ReportSource.CHAT),
    (FollowUpRequest.source == Source.VOICE, ReportSource.VOICE),
    else_=ReportSource.API,
)
CONTACT_SECONDS = seconds_between(FollowUpRequest.created_at, FollowUpRequest.contacted_at)
WITHIN_PROMISE = and_(
    FollowUpRequest.contacted_at.is_not(None),
    FollowUpRequest.contacted_at < FollowUpRequest.due_at,
)
# Pending and never contacted: decided once its due time has passed.
NOT_CONTACTED_YET = and_(
    FollowUpRequest.status == Status.PENDING, FollowUpRequest.contacted_at.is_(None)
)
_CONTACT_BUCKET_MINUTES = case(
    (
        CONTACT_SECONDS < FINE_UNTIL_S,
        whole_multiples(CONTACT_SECONDS, FINE_BUCKET_S) * (FINE_BUCKET_S // 60),
    ),
    else_=whole_multiples(CONTACT_SECONDS, COARSE_BUCKET_S) * (COARSE_BUCKET_S // 60),
)
WROTE_BACK = exists().where(
    Message.chat_id == ReminderSend.chat_id,
    Message.role == Role.CLIENT,
    Message.created_at > ReminderSend.sent_at,
    seconds_between(ReminderSend.sent_at, Message.created_at) <= REPLY_WINDOW.total_seconds(),
)


# --- local days -----------------------------------------------------------------------------


def local_midnight(day: date, zone: str) -> datetime:
    """The UTC instant the local day begins (zoneinfo handles a skipped midnight)."""
    return datetime.combine(day, time(0), ZoneInfo(zone)).astimezone(UTC)


def local_day(instant: datetime, zone: str) -> date:
    return instant.astimezone(ZoneInfo(zone)).date()


def _still_changing(zone: str, now: datetime) -> set[date]:
    """The local days the last REPLY_WINDOW touches: a reminder sent there may still
    get its reply, and today still gets chats and messages."""
    return days_between(local_day(now - REPLY_WINDOW, zone), local_day(now, zone))


def days_between(first: date, last: date) -> set[date]:
    """Every day from `first` to `last`, both included."""
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


# --- counting one day -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Day:
    tenant_id: int
    day: date
    start: datetime
    end: datetime


def _during(column, day: _Day) -> ColumnElement[bool]:
    return and_(column >= day.start, column < day.end)


def _write(
    day: _Day, metric: ReportMetric, base: Select, *, agent, assignee=None, key=None, value=None
) -> None:
    """INSERT ... SELECT the day's rows of one metric, grouped in the database (over a
    subquery: PostgreSQL would not match a grouped CASE written twice)."""
    rows = base.with_only_columns(
        agent.label("agent_id"),
        (cast(null(), Integer) if assignee is None else assignee).label("assignee_id"),
        cast(literal("") if key is None else key, String).label("key"),
        (literal(1) if value is None else value).label("value"),
    ).subquery()
    grouped = select(
        literal(day.tenant_id),
        literal(day.day),
        literal(metric.value),
        rows.c.agent_id,
        rows.c.assignee_id,
        rows.c.key,
        func.sum(rows.c.value),
    ).group_by(rows.c.agent_id, rows.c.assignee_id, rows.c.key)
    columns = ["tenant_id", "day", "metric", "agent_id", "assignee_id", "key", "value"]
    db.session.execute(ReportCount.__table__.insert().from_select(columns, grouped))


def _followups_made(day: _Day) -> Select:
    return (
        select(FollowUpRequest.id)
        .select_from(FollowUpRequest)
        .outerjoin(Chat, Chat.id == FollowUpRequest.chat_id)
        .where(FollowUpRequest.tenant_id == day.tenant_id)
        .where(_during(FollowUpRequest.created_at, day))
    )


def _count_followups(day: _Day) -> None:
    made = _followups_made(day)
    who = {"agent": Chat.agent_id, "assignee": FollowUpRequest.assignee_id}
    _write(day, ReportMetric.REQUESTS, made, key=_REPORT_SOURCE, **who)
    contacted = made.where(FollowUpRequest.contacted_at.is_not(None))
    _write(day, ReportMetric.CONTACTED, contacted, **who)
    _write(day, ReportMetric.WITHIN_PROMISE, made.where(WITHIN_PROMISE), **who)
    _write(day, ReportMetric.PENDING, made.where(NOT_CONTACTED_YET), **who)
    _write(day, ReportMetric.CONTACT_MINUTES, contacted, key=_CONTACT_BUCKET_MINUTES, **who)
    _write(
        day,
        ReportMetric.HANDOFFS,
        made.where(FollowUpRequest.chat_id.is_not(None)),
        agent=Chat.agent_id,
    )


def _sends(day: _Day) -> Select:
    return (
        select(ReminderSend.id)
        .select_from(ReminderSend)
        .join(Chat, Chat.id == ReminderSend.chat_id)
        .where(Chat.tenant_id == day.tenant_id, _during(ReminderSend.sent_at, day))
    )


def _count_chains(day: _Day) -> None:
    sends = _sends(day)
    _write(day, ReportMetric.REMINDERS, sends, agent=Chat.agent_id, key=ReminderSend.step_id)
    _write(
        day,
        ReportMetric.REPLIED,
        sends.where(WROTE_BACK),
        agent=Chat.agent_id,
        key=ReminderSend.step_id,
    )
    other = aliased(ReminderSend)
    # A chat enters a chain once: with its first reminder ever (a reply starts a new
    # cycle of the same chain). Two at the same instant: the first made.
    before = or_(
        other.sent_at < ReminderSend.sent_at,
        and_(other.sent_at == ReminderSend.sent_at, other.id < ReminderSend.id),
    )
    earlier = exists().where(other.chat_id == ReminderSend.chat_id, before)
    _write(day, ReportMetric.CHAINS_ENTERED, sends.where(~earlier), agent=Chat.agent_id)
    after = or_(
        other.sent_at > ReminderSend.sent_at,
        and_(other.sent_at == ReminderSend.sent_at, other.id > ReminderSend.id),
    )
    later = exists().where(other.chat_id == ReminderSend.chat_id, after)
    exhausted = sends.where(Chat.chain_ended == ChainEnd.EXHAUSTED, ~later)
    _write(day, ReportMetric.EXHAUSTED, exhausted, agent=Chat.agent_id)
    opted_out = select(Chat.id).where(
        Chat.tenant_id == day.tenant_id, _during(Chat.opted_out_at, day)
    )
    _write(day, ReportMetric.OPTED_OUT, opted_out, agent=Chat.agent_id)


def _count_ai(day: _Day) -> None:
    chats = select(Chat.id).where(Chat.tenant_id == day.tenant_id, _during(Chat.created_at, day))
    _write(day, ReportMetric.CONVERSATIONS, chats, agent=Chat.agent_id)
    messages = (
        select(Message.id)
        .select_from(Message)
        .join(Chat, Chat.id == Message.chat_id)
        .where(Chat.tenant_id == day.tenant_id, _during(Message.created_at, day))
    )
    customer = messages.where(Message.role == Role.CLIENT)
    _write(day, ReportMetric.CUSTOMER_MESSAGES, customer, agent=Chat.agent_id)
    failed = messages.where(Message.model_failed.is_(True))
    _write(day, ReportMetric.MODEL_FAILURES, failed, agent=Chat.agent_id)
    model = func.coalesce(Message.model, "")
    for metric, tokens in (
        (ReportMetric.INPUT_TOKENS, Message.prompt_tokens),
        (ReportMetric.OUTPUT_TOKENS, Message.completion_tokens),
    ):
        used = messages.where(tokens.is_not(None))
        _write(day, metric, used, agent=Chat.agent_id, key=model, value=tokens)


def _lock_day(tenant_id: int, day: date) -> None:
    """Make the day's report_days row if missing, and lock it until the commit: who
    counts the day at the same time waits, then counts it again."""
    values = {"tenant_id": tenant_id, "day": day, "computed_at": utcnow()}
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(ReportDay).values(values).on_conflict_do_nothing())
    db.session.execute(
        select(ReportDay.day)
        .where(ReportDay.tenant_id == tenant_id, ReportDay.day == day)
        .with_for_update()
    )


def count_day(tenant_id: int, zone: str, day: date) -> None:
    """Count one local day of a tenant again, whole, and commit."""
    _lock_day(tenant_id, day)
    db.session.execute(
        delete(ReportCount).where(ReportCount.tenant_id == tenant_id, ReportCount.day == day)
    )
    span = _Day(
        tenant_id, day, local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    )
    _count_followups(span)
    _count_chains(span)
    _count_ai(span)
    db.session.execute(
        ReportDay.__table__.update()
        .where(ReportDay.tenant_id == tenant_id, ReportDay.day == day)
        .values(computed_at=utcnow())
    )
    db.session.commit()


# --- which days to count --------------------------------------------------------------------


@dataclass(frozen=True)
class _Marks:
    """The marks read: the local day of each, by id."""

    days: dict[int, date]

    def within(self, first: date, last: date) -> "_Marks":
        return _Marks({i: day for i, day in self.days.items() if first <= day <= last})


def _marks(tenant_id: int, zone: str) -> _Marks:
    rows = db.session.execute(
        select(ReportMark.id, ReportMark.created_at).where(ReportMark.tenant_id == tenant_id)
    )
    return _Marks({mark_id: local_day(at, zone) for mark_id, at in rows})


def _drop_marks(tenant_id: int, marks: _Marks) -> None:
    """Drop exactly the marks read, their days counted now (an id is no order: a mark
    committed later may have a smaller one)."""
    if marks.days:
        db.session.execute(
            delete(ReportMark).where(
                ReportMark.tenant_id == tenant_id, ReportMark.id.in_(list(marks.days))
            )
        )
        db.session.commit()


def _count_days(tenant_id: int, zone: str, days: Iterable[date]) -> int:
    counted = 0
    for day in sorted(set(days)):
        count_day(tenant_id, zone, day)
        counted += 1
    return counted


def refresh(tenant_id: int, now: datetime | None = None) -> int:
    """The workers' pass for one tenant: count again the days still changing and the
    marked ones. Returns how many days it counted."""
    zone = db.session.get(Tenant, tenant_id).timezone
    now = now or utcnow()
    marks = _marks(tenant_id, zone)
    days = (
        _still_changing(zone, now)
        | _open_days(tenant_id, zone)
        | set(marks.days.values())
        | _never_counted(tenant_id, zone, now)
    )
    counted = _count_days(tenant_id, zone, days)
    _drop_marks(tenant_id, marks)
    return counted


def _is_open(day: date, computed_at: datetime, zone: str) -> bool:
    """Counted before the last reply to its reminders could come: it may still change."""
    return computed_at < local_midnight(day + timedelta(days=1), zone) + REPLY_WINDOW


def _open_days(tenant_id: int, zone: str) -> set[date]:
    """Days counted while they could still change (by a page, or by a pass before a
    worker outage): counted again until a count comes after their reply window."""
    rows = db.session.execute(
        select(ReportDay.day, ReportDay.computed_at).where(ReportDay.tenant_id == tenant_id)
    )
    return {day for day, at in rows if _is_open(day, at, zone)}


def first_request_day(tenant_id: int, zone: str) -> date | None:
    made = db.session.scalar(
        select(func.min(FollowUpRequest.created_at)).where(FollowUpRequest.tenant_id == tenant_id)
    )
    return None if made is None else local_day(made, zone)


def _never_counted(tenant_id: int, zone: str, now: datetime) -> set[date]:
    """Up to BACKFILL_DAYS of the days since the tenant's first request never counted,
    newest first: over a few passes every day is counted, which the backlog needs."""
    first, today = first_request_day(tenant_id, zone), local_day(now, zone)
    if first is None:
        return set()
    missing = days_between(first, today) - _counted_days(tenant_id, first, today).keys()
    return set(sorted(missing, reverse=True)[:BACKFILL_DAYS])


def pending_before(tenant_id: int, zone: str, day: date, agent_id: int | None) -> int | None:
    """The requests still pending among those made before the local `day`, from the
    rollups; None unless every day from the tenant's first request on is counted."""
    first = first_request_day(tenant_id, zone)
    if first is None or first >= day:
        return 0
    last = day - timedelta(days=1)
    if len(_counted_days(tenant_id, first, last)) < (last - first).days + 1:
        return None
    scope = [
        ReportCount.tenant_id == tenant_id,
        ReportCount.day.between(first, last),
        ReportCount.metric == ReportMetric.PENDING,
    ]
    if agent_id is not None:
        scope.append(ReportCount.agent_id == agent_id)
    return int(
        db.session.scalar(select(func.coalesce(func.sum(ReportCount.value), 0)).where(*scope))
    )


def refresh_all(now: datetime | None = None) -> int:
    """The pass for every tenant; returns the days counted."""
    tenant_ids = db.session.scalars(select(Tenant.id).order_by(Tenant.id)).all()
    counted = 0
    for tenant_id in tenant_ids:
        try:
            counted += refresh(tenant_id, now)
        except Exception:  # one tenant's failure must not stop the others' counts
            db.session.rollback()
            log.exception(
                "Reports: counting tenant %s failed; the next pass tries again.", tenant_id
            )
    return counted


def refresh_once_per_interval() -> int:
    """The pass as every worker's cron queues it: one of them does it per interval."""
    if not first_in_interval(REFRESH_LOCK_KEY, current_app.config["REPORT_REFRESH_INTERVAL_S"]):
        return 0
    return refresh_all()


def _counted_days(tenant_id: int, first: date, last: date) -> dict[date, datetime]:
    rows = db.session.execute(
        select(ReportDay.day, ReportDay.computed_at).where(
            ReportDay.tenant_id == tenant_id, ReportDay.day.between(first, last)
        )
    )
    return dict(rows.all())


def ensure_counted(tenant_id: int, zone: str, first: date, last: date) -> dict[date, datetime]:
    """Before a report reads the days `first` to `last`: count those never counted and
    those marked (the workers count the marked days outside it). Returns {day: when it
    was counted}."""
    counted = _counted_days(tenant_id, first, last)
    marks = _marks(tenant_id, zone).within(first, last)
    every_day = days_between(first, last)
    missing = (every_day - counted.keys()) | set(marks.days.values())
    if missing:
        _count_days(tenant_id, zone, missing)
        _drop_marks(tenant_id, marks)
        counted = _counted_days(tenant_id, first, last)
    return counted


def forget(tenant_id: int) -> None:
    """Drop a tenant's rollups (its time zone changed: every local day moved); they are
    counted again as they are read."""
    db.session.execute(delete(ReportCount).where(ReportCount.tenant_id == tenant_id))
    db.session.execute(delete(ReportDay).where(ReportDay.tenant_id == tenant_id))


def as_of(counted: dict[date, datetime], zone: str) -> datetime | None:
    """How fresh a period's figures are: when the oldest of its days that could still
    change was counted (a day counted before its reply window closed), else when the
    last of its days was counted."""
    if not counted:
        return None
    open_days = [at for day, at in counted.items() if _is_open(day, at, zone)]
    return min(open_days) if open_days else max(counted.values())


# --- marks: rows changed after their day was counted ------------------------------------------

# What a follow-up's day counts: a change to anything else (notes, alerts) changes nothing.
COUNTED_FOLLOWUP_FIELDS = (
    "status",
    "contacted_at",
    "assignee_id",
    "chat_id",
    "due_at",
    "created_at",
    "source",
)


def _changed(session: Session, item, fields: Iterable[str]) -> bool:
    if item in session.new or item in session.deleted:
        return True
    state = inspect(item)
    return any(state.attrs[name].history.has_changes() for name in fields)


def _mark(session: Session, tenant_id: int | None, at: datetime | None) -> None:
    if tenant_id is not None:
        session.add(ReportMark(tenant_id=tenant_id, created_at=at or utcnow()))


def _mark_changed_rows(session: Session, _context, _instances) -> None:
    """Mark the days whose figures a flush changes after they may have been counted: a
    follow-up's (made, contacted, assigned, cancelled, erased); the day of a chat's last
    reminder when its chain ends or starts again (exhausted); every day a deleted step
    sent reminders on (they go with it)."""
    with session.no_autoflush:
        for item in (*session.new, *session.dirty, *session.deleted):
            if isinstance(item, FollowUpRequest):
                if _changed(session, item, COUNTED_FOLLOWUP_FIELDS):
                    _mark(session, item.tenant_id, item.created_at)
            elif isinstance(item, Chat) and item not in session.new:
                if _changed(session, item, ("chain_ended", "agent_id")):
                    _mark(session, item.tenant_id, _last_reminder(session, item.id))
            elif isinstance(item, AutoFollowupStep) and item in session.deleted:
                _mark_step_days(session, item)
            elif isinstance(item, Agent):  # a step taken out of its list goes as an orphan
                for step in inspect(item).attrs.steps.history.deleted:
                    _mark_step_days(session, step)


def _last_reminder(session: Session, chat_id: int) -> datetime | None:
    latest = select(func.max(ReminderSend.sent_at)).where(ReminderSend.chat_id == chat_id)
    return session.scalar(latest)


def _mark_step_days(session: Session, step: AutoFollowupStep) -> None:
    """A mark every 12 hours from the step's first reminder to its last: one in each
    local day between (a day has 23 to 25 hours)."""
    first, last = session.execute(
        select(func.min(ReminderSend.sent_at), func.max(ReminderSend.sent_at)).where(
            ReminderSend.step_id == step.id
        )
    ).one()
    if first is None:
        return
    tenant_id = session.scalar(select(Agent.tenant_id).where(Agent.id == step.agent_id))
    while first < last:
        _mark(session, tenant_id, first)
        first += timedelta(hours=12)
    _mark(session, tenant_id, last)


def watch_followup_changes() -> None:
    """Every session marks the days of the rows it changes that the rollups count."""
    if not event.contains(Session, "before_flush", _mark_changed_rows):
        event.listen(Session, "before_flush", _mark_changed_rows)


# --- reading a period -----------------------------------------------------------------------

# Figures the page shows per day or week; the others it shows for the whole period.
DAILY = (
    ReportMetric.REQUESTS,
    ReportMetric.CONTACTED,
    ReportMetric.WITHIN_PROMISE,
    ReportMetric.PENDING,
    ReportMetric.INPUT_TOKENS,
    ReportMetric.OUTPUT_TOKENS,
)


class Total(NamedTuple):
    metric: str
    agent_id: int | None
    assignee_id: int | None
    key: str
    value: int


class Daily(NamedTuple):
    day: date
    metric: str
    agent_id: int | None
    key: str
    value: int


@dataclass(frozen=True)
class PeriodCounts:
    """A period's rollups, summed: over the whole period by (metric, employee,
    assignee, key), and per day by (metric, employee, key) for the daily figures."""

    totals: list[Total]
    daily: list[Daily]
    counted: dict[date, datetime]
    # (day index, assignee, count) of the requests not due yet, read live by the reports.
    not_due: tuple = ()

    def total(self, metric: ReportMetric) -> int:
        return sum(row.value for row in self.totals if row.metric == metric)

    def by(self, metric: ReportMetric, field: str) -> dict:
        """{value of `field`: sum} of one metric over the period."""
        sums: dict = defaultdict(int)
        for row in self.totals:
            if row.metric == metric:
                sums[getattr(row, field)] += row.value
        return dict(sums)

    def days(self, metric: ReportMetric) -> Iterable[Daily]:
        return (row for row in self.daily if row.metric == metric)


def read_period(
    tenant_id: int, zone: str, first: date, last: date, agent_id: int | None = None
) -> PeriodCounts:
    """The rollups of the local days `first` to `last` (counting the days not counted
    yet first), optionally for one AI employee."""
    counted = ensure_counted(tenant_id, zone, first, last)
    scope = [ReportCount.tenant_id == tenant_id, ReportCount.day.between(first, last)]
    if agent_id is not None:
        scope.append(ReportCount.agent_id == agent_id)
    value = func.sum(ReportCount.value)
    total_groups = (
        ReportCount.metric,
        ReportCount.agent_id,
        ReportCount.assignee_id,
        ReportCount.key,
    )
    totals = db.session.execute(select(*total_groups, value).where(*scope).group_by(*total_groups))
    daily_groups = (ReportCount.day, ReportCount.metric, ReportCount.agent_id, ReportCount.key)
    daily = db.session.execute(
        select(*daily_groups, value)
        .where(*scope, ReportCount.metric.in_(DAILY))
        .group_by(*daily_groups)
    )
    return PeriodCounts(
        [Total(*row[:-1], int(row[-1])) for row in totals],
        [Daily(*row[:-1], int(row[-1])) for row in daily],
        counted,
    )
