"""The promise as a clock: each request keeps the response time in force when it was
made and its due time; at 75% of it, a request nobody has contacted raises one "at
risk" alert, and at 100% one "overdue" alert, to its assignee or else the team.

`next_alert_at` on the request says when its next alert is due (None: no more). The
sweep reads only the requests whose alert is due, through its index, so it costs the
same however many requests are open. Each alert is written to the outbox in the same
transaction that moves `next_alert_at` on, with the request locked: two sweeps at once
raise it once (the outbox's unique index would refuse a second anyway).
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from followup.clock import utcnow
from followup.extensions import db
from followup.models import (
    FollowUpRequest,
    NotificationKind,
    PromiseClock,
    Status,
    at_risk_at,
    is_past_due,
    promise_clock,
)
from followup.queue import SweepKind, first_in_interval, record_sweep
from followup.services import notifications
from followup.services.queries import lock_row

SWEEP_BATCH = 200
SWEEP_LOCK_KEY = "followup:promise:sweep"


def start_clock(followup: FollowUpRequest, response_time_hours: int) -> None:
    """Store the promise in force on a new request, and arm its first alert."""
    followup.response_time_hours = response_time_hours
    followup.due_at = followup.created_at + timedelta(hours=response_time_hours)
    followup.next_alert_at = at_risk_at(followup.created_at, response_time_hours)


def stop_clock(followup: FollowUpRequest) -> None:
    """The customer was contacted, or the request closed: no alert any more."""
    followup.next_alert_at = None


def clock_of(followup, now: datetime) -> PromiseClock | None:
    """A pending request's time left or past (None for any other status). `followup`: a
    request, or a list row with its created_at, response_time_hours and due_at."""
    if followup.status != Status.PENDING:
        return None
    return promise_clock(followup.created_at, followup.response_time_hours, followup.due_at, now)


def _alert_kind(followup: FollowUpRequest, now: datetime) -> NotificationKind:
    """Overdue once the due time has passed (an at-risk alert then says nothing new)."""
    return (
        NotificationKind.OVERDUE if is_past_due(followup.due_at, now) else NotificationKind.AT_RISK
    )


def _raise_alert(followup_id: int, now: datetime) -> list[notifications.DeliveryKey]:
    """The request's due alert, staged with its next alert time and committed; none when
    another sweep raised it meanwhile or the request left `pending`."""
    followup = lock_row(FollowUpRequest, followup_id, FollowUpRequest.next_alert_at)
    if followup is None or followup.next_alert_at is None or followup.next_alert_at > now:
        db.session.rollback()
        return []
    if followup.status != Status.PENDING:
        stop_clock(followup)
        db.session.commit()
        return []
    kind = _alert_kind(followup, now)
    followup.next_alert_at = followup.due_at if kind == NotificationKind.AT_RISK else None
    keys = notifications.add_for_promise_alert(followup, kind)
    db.session.commit()
    return keys


def sweep() -> int:
    """Raise every alert that is due; returns how many requests raised one."""
    now = utcnow()
    due_ids = db.session.scalars(
        select(FollowUpRequest.id)
        .where(FollowUpRequest.next_alert_at <= now)
        .order_by(FollowUpRequest.next_alert_at)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.commit()
    raised = 0
    for followup_id in due_ids:
        keys = _raise_alert(followup_id, now)
        notifications.dispatch(keys)
        raised += bool(keys)
    return raised


def sweep_once_per_interval() -> int:
    """The sweep as every worker's cron queues it: one sweep per interval does the work."""
    if not first_in_interval(SWEEP_LOCK_KEY, current_app.config["NOTIFY_SWEEP_INTERVAL_S"]):
        return 0
    raised = sweep()
    record_sweep(SweepKind.PROMISES)
    return raised
