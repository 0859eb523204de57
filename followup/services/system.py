"""The System page: whether the installation works, for the owner and admins of a
business. The checks are the doctor's (`services/doctor.py`); this adds what the
workers and the sweeps are doing, and test messages sent at once.

A test message goes to the member's own email address, and the test SMS to their own
mobile number (Your account). It is sent here and now, with the configured timeouts,
and its outcome said in our words, never the library's.

The checks log in to the mail server and ask the model (a paid call), so their findings
are kept for a minute for every page view, and "Check again" runs them at most once
every CHECKS_MIN_INTERVAL_S for the whole installation.
"""

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError

from followup.clock import utcnow
from followup.locales import staff_gettext, staff_text
from followup.models import DeliveryState, StaffUser
from followup.notify import email, failures, sms
from followup.queue import (
    SWEEP_INTERVAL_SETTING,
    JobQueue,
    SweepKind,
    WorkerState,
    first_in_interval,
    last_sweeps,
    queue_depths,
    redis_connection,
    scheduler_elected,
    workers,
)
from followup.services import doctor
from followup.services.doctor import Finding, Verdict

log = logging.getLogger(__name__)

SWEEP_LABELS = {
    SweepKind.NOTIFICATIONS: staff_text("Notifications"),
    SweepKind.PROMISES: staff_text("Promises (at-risk and overdue alerts)"),
    SweepKind.DUE_REMINDERS: staff_text("Due reminders"),
    SweepKind.SMS_ANSWERS: staff_text("SMS answers"),
    SweepKind.SMS_SENDS: staff_text("SMS sends"),
}
# A sweep whose last run is older than this many of its intervals has stopped.
STALE_AFTER_INTERVALS = 3
CHECKS_KEY = "followup:system:checks"
CHECKS_RUN_KEY = "followup:system:checks-run"
CHECKS_KEPT_S = 60
CHECKS_MIN_INTERVAL_S = 10
SEND_FAILED = staff_text(
    "The message could not be sent, for a reason we do not know; the server log says more."
)


@dataclass(frozen=True)
class SweepRun:
    kind: SweepKind
    label: str
    last_run_at: datetime | None
    interval_s: float
    stale: bool  # never run, or not for STALE_AFTER_INTERVALS intervals


def sweep_runs(now: datetime | None = None) -> list[SweepRun] | None:
    """Each sweep's last run; None when Redis, which keeps them, does not answer."""
    now = now or utcnow()
    try:
        last = last_sweeps()
    except RedisError:
        return None
    runs = []
    for kind in SweepKind:
        interval_s = float(current_app.config[SWEEP_INTERVAL_SETTING[kind]])
        at = last[kind]
        stale = at is None or now - at > timedelta(seconds=STALE_AFTER_INTERVALS * interval_s)
        runs.append(SweepRun(kind, staff_gettext(SWEEP_LABELS[kind]), at, interval_s, stale))
    return runs


@dataclass(frozen=True)
class Queues:
    depths: dict[JobQueue, int]
    workers: list[WorkerState]
    scheduler_elected: bool


def queues() -> Queues | None:
    """None when Redis, which holds the queues and knows the workers, does not answer."""
    try:
        return Queues(queue_depths(), workers(), scheduler_elected())
    except RedisError:
        return None


@dataclass(frozen=True)
class SendOutcome:
    sent: bool
    recipient: str | None  # None: there is nobody to send to
    at: datetime
    saved_to: str | None = None  # the file an email was written to (no mail server)
    failure: str | None = None  # why it was not sent, in our words


def _send(outgoing, recipient: str, channel: str) -> SendOutcome:
    now = utcnow()
    try:
        receipt = outgoing.send()
    except Exception as exc:  # every failure is told in our words, none escapes
        log.warning("Test %s not sent: %s", channel, failures.kind(exc))
        text = failures.explain(exc)[0]
        unexplained = text == staff_gettext(failures.SOMETHING_ELSE)
        failure = staff_gettext(SEND_FAILED) if unexplained else text
        return SendOutcome(False, recipient, now, failure=failure)
    saved = receipt.provider_id if receipt.state == DeliveryState.SAVED_TO_FILE else None
    return SendOutcome(True, recipient, now, saved_to=saved)


def send_test_email(member: StaffUser) -> SendOutcome:
    return _send(email.trial_email(member.email, member.tenant.name), member.email, "email")


def send_test_sms(member: StaffUser) -> SendOutcome:
    """To the member's own mobile (Account); without one, nothing is sent (`recipient`
    None)."""
    if not member.phone:
        return SendOutcome(False, None, utcnow())
    return _send(sms.trial_sms(member.phone, member.tenant.name), member.phone, "SMS")


# --- the checks ----------------------------------------------------------------------------------


def checks(again: bool = False) -> list[Finding]:
    """The doctor's findings: the last minute's, unless `again` (and nobody ran them in
    the last CHECKS_MIN_INTERVAL_S)."""
    kept = None if again else _kept_findings()
    if kept is None and again and not _first_run_in_interval():
        kept = _kept_findings()
    if kept is not None:
        return kept
    findings = doctor.run_checks()
    _keep(findings)
    return findings


def _kept_findings() -> list[Finding] | None:
    try:
        kept = redis_connection().get(CHECKS_KEY)
    except RedisError:
        return None
    if kept is None:
        return None
    return [Finding(**(row | {"verdict": Verdict(row["verdict"])})) for row in json.loads(kept)]


def _keep(findings: list[Finding]) -> None:
    try:
        rows = json.dumps([asdict(finding) for finding in findings])
        redis_connection().set(CHECKS_KEY, rows, ex=CHECKS_KEPT_S)
    except RedisError:
        pass  # the Redis finding says so; the next view runs them again


def _first_run_in_interval() -> bool:
    try:
        return first_in_interval(CHECKS_RUN_KEY, CHECKS_MIN_INTERVAL_S)
    except RedisError:
        return True
