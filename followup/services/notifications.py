"""The notification outbox: who is told about a new request, and delivering each
message once, retrying what fails.

- `add_for_new_followup` writes one row per channel in the request's own
  transaction; `dispatch` queues their jobs after the commit. If Redis cannot take
  them nothing is lost: the rows wait in the database for the sweep.
- `deliver` (the job) claims its row with one conditional UPDATE, so two workers
  never both send it, and a row already sent is never sent again. It sends outside
  any transaction and records the outcome; a failure is retried with growing
  delays, then the row is `failed` with the last error.
- `sweep` (every NOTIFY_SWEEP_INTERVAL_S, from the worker's cron) queues a job for
  every unfinished row that is due and has no job waiting in Redis: after a Redis
  flush or restart, or when a worker died while sending (its lease ran out).

A row's `next_attempt_at` is when it is due while `pending`, and the end of the
sender's lease while `sending`.
"""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import configure_mappers

from followup.clock import utcnow
from followup.errors import NotFound, TransitionNotAllowed, ValidationFailed
from followup.extensions import db
from followup.locales import staff_gettext, staff_text
from followup.models import (
    STAFF_LINK_KINDS,
    DeliveryState,
    FollowUpRequest,
    Notification,
    NotificationChannel,
    NotificationKind,
    StaffRole,
    StaffToken,
    StaffUser,
    Tenant,
)
from followup.notify import Receipt, Undeliverable, email, failures, sent_lately, sms
from followup.queue import (
    DELIVER_NOTIFICATIONS,
    SweepKind,
    first_in_interval,
    queue_notifications,
    record_sweep,
    waiting_job_ids,
)
from followup.services import satisfaction
from followup.services.queries import MAX_ID
from followup.services.validation import number_in_range

log = logging.getLogger(__name__)

UNFINISHED = (DeliveryState.PENDING, DeliveryState.SENDING)
RETRYABLE_BY_STAFF = (DeliveryState.PENDING, DeliveryState.FAILED)
# Handed over for good: never sent again.
DONE = (DeliveryState.SENT, DeliveryState.SAVED_TO_FILE)
CHANNEL_ORDER = list(NotificationChannel)
# Clocks of web and worker boxes differ a little, and RQ's scheduler counts whole
# seconds: a job this early for a pending row is on time (retries are 30 s apart or
# more). Leases get no such grace.
CLOCK_TOLERANCE = timedelta(seconds=5)
SWEEP_BATCH = 500
SWEEP_LOCK_KEY = "followup:notifications:sweep"
NO_SUCH_ROW = 0  # ids start at 1

# (notification id, attempts made): a row as a delivery job sees it.
DeliveryKey = tuple[int, int]
Outgoing = email.OutgoingEmail | sms.OutgoingSms
Builder = Callable[[Notification, FollowUpRequest, Tenant], Outgoing]


def _rating_link(notification: Notification, followup: FollowUpRequest, tenant: Tenant) -> str:
    """The same link on every attempt; none once it has expired (a retry that late, or
    "Retry now" weeks on, would send a dead link)."""
    if utcnow() >= satisfaction.link_expiry(notification.created_at):
        raise Undeliverable(failures.LINK_NO_LONGER_VALID)
    return satisfaction.rating_url(tenant.id, followup.id, notification.created_at)


def _satisfaction_email(
    notification: Notification, followup: FollowUpRequest, tenant: Tenant
) -> Outgoing:
    link = _rating_link(notification, followup, tenant)
    return email.satisfaction_request(
        notification, followup, tenant, link, satisfaction.LINK_LIFETIME.days
    )


def _satisfaction_sms(
    notification: Notification, followup: FollowUpRequest, tenant: Tenant
) -> Outgoing:
    return sms.satisfaction_request(
        notification, followup, tenant, _rating_link(notification, followup, tenant)
    )


# The message of each kind about a request, on each of its channels.
BUILDERS: dict[tuple[str, str], Builder] = {
    (NotificationKind.NEW_REQUEST, NotificationChannel.STAFF_EMAIL): email.staff_alert,
    (NotificationKind.NEW_REQUEST, NotificationChannel.STAFF_SMS): sms.staff_sms,
    (NotificationKind.NEW_REQUEST, NotificationChannel.CUSTOMER_EMAIL): email.customer_confirmation,
    (NotificationKind.ASSIGNED, NotificationChannel.STAFF_EMAIL): email.assignment,
    (NotificationKind.AT_RISK, NotificationChannel.STAFF_EMAIL): email.promise_alert,
    (NotificationKind.AT_RISK, NotificationChannel.STAFF_SMS): sms.promise_alert,
    (NotificationKind.OVERDUE, NotificationChannel.STAFF_EMAIL): email.promise_alert,
    (NotificationKind.OVERDUE, NotificationChannel.STAFF_SMS): sms.promise_alert,
    (NotificationKind.SATISFACTION, NotificationChannel.CUSTOMER_EMAIL): _satisfaction_email,
    (NotificationKind.SATISFACTION, NotificationChannel.CUSTOMER_SMS): _satisfaction_sms,
}


# --- who is told -------------------------------------------------------------------------------


def _owner_email(tenant_id: int) -> str | None:
    return db.session.scalar(
        select(StaffUser.email)
        .where(StaffUser.tenant_id == tenant_id, StaffUser.role == StaffRole.OWNER)
        .order_by(StaffUser.id)
        .limit(1)
    )


def _confirmations_lately(tenant_id: int, address: str) -> int:
    """Confirmations this business sent (or will send) to this address in the last hour."""
    return sent_lately(
        Notification.created_at,
        Notification.tenant_id == tenant_id,
        Notification.recipient == address,
        Notification.channel == NotificationChannel.CUSTOMER_EMAIL,
    )


def _confirms(tenant: Tenant, followup: FollowUpRequest) -> bool:
    """A confirmation unless the business turned it off, or this address had its share
    this hour: anybody can ask for a follow-up with anybody's email, and must not be
    able to flood them. The request is saved either way."""
    if not tenant.customer_confirmation_enabled:
        return False
    limit = current_app.config["CUSTOMER_CONFIRMATIONS_PER_HOUR"]
    return _confirmations_lately(tenant.id, followup.email) < limit


def _staff_channels(tenant: Tenant) -> list[NotificationChannel]:
    """Staff always get the email; SMS when the business set a phone and turned SMS on."""
    if tenant.sms_enabled and tenant.contact_phone:
        return [NotificationChannel.STAFF_EMAIL, NotificationChannel.STAFF_SMS]
    return [NotificationChannel.STAFF_EMAIL]


def _channels(tenant: Tenant, followup: FollowUpRequest) -> list[NotificationChannel]:
    """The staff's channels, and the customer a confirmation (see `_confirms`)."""
    channels = _staff_channels(tenant)
    if _confirms(tenant, followup):
        channels.append(NotificationChannel.CUSTOMER_EMAIL)
    return channels


def _recipient(
    channel: str,
    tenant: Tenant,
    followup: FollowUpRequest | None,
    member: StaffUser | None = None,
) -> str | None:
    """Where a message goes now. `member`: the staff member it is for (an assignment, an
    alert to the assignee), whose email it goes to; else the team's. Staff SMS goes to
    the business's phone (members keep no number of their own); the customer's SMS to
    the request's phone."""
    if channel == NotificationChannel.STAFF_EMAIL:
        if member is not None:
            return member.email
        return tenant.contact_email or _owner_email(tenant.id)
    if channel == NotificationChannel.STAFF_SMS:
        return tenant.contact_phone if tenant.sms_enabled else None
    if channel == NotificationChannel.CUSTOMER_SMS:
        return followup.phone if tenant.sms_enabled else None
    return followup.email


def add_for_new_followup(followup: FollowUpRequest) -> list[DeliveryKey]:
    """Add the request's notifications to the session; the caller commits both together."""
    tenant = db.session.get(Tenant, followup.tenant_id)
    db.session.flush()  # the request's id
    rows = [
        Notification(
            tenant_id=tenant.id,
            followup_id=followup.id,
            channel=channel,
            recipient=_recipient(channel, tenant, followup),
            state=DeliveryState.PENDING,
            attempts=0,
            next_attempt_at=followup.created_at,
            created_at=followup.created_at,
        )
        for channel in _channels(tenant, followup)
    ]
    db.session.add_all(rows)
    db.session.flush()
    return [(row.id, 0) for row in rows]


def _pending(tenant_id: int, followup: FollowUpRequest | None, **fields) -> Notification:
    """A new row of the outbox, due now, in the session."""
    now = utcnow()
    row = Notification(
        tenant_id=tenant_id,
        followup_id=followup.id if followup is not None else None,
        state=DeliveryState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        **fields,
    )
    db.session.add(row)
    return row


def add_for_assignment(followup: FollowUpRequest, assignee: StaffUser) -> DeliveryKey:
    """Add the email telling `assignee` that someone gave them the request; the caller
    commits it with the assignment, then `dispatch`es it."""
    channel = NotificationChannel.STAFF_EMAIL
    row = _pending(
        followup.tenant_id,
        followup,
        kind=NotificationKind.ASSIGNED,
        staff_user_id=assignee.id,
        channel=channel,
        recipient=_recipient(
            channel, db.session.get(Tenant, followup.tenant_id), followup, assignee
        ),
    )
    db.session.flush()
    return (row.id, 0)


def add_for_promise_alert(followup: FollowUpRequest, kind: NotificationKind) -> list[DeliveryKey]:
    """Add the request's at-risk or overdue alert on each channel; the caller commits
    them with the request's next alert time, then `dispatch`es them. The outbox keeps
    one of each kind per request and channel."""
    tenant = db.session.get(Tenant, followup.tenant_id)
    assignee = followup.assignee if followup.assignee_id is not None else None
    if assignee is not None and not assignee.is_active:
        assignee = None  # a member who left: the team hears of it instead
    rows = [
        _pending(
            tenant.id,
            followup,
            kind=kind,
            staff_user_id=assignee.id if assignee is not None else None,
            channel=channel,
            recipient=_recipient(channel, tenant, followup, assignee),
        )
        for channel in _staff_channels(tenant)
    ]
    db.session.flush()
    return [(row.id, 0) for row in rows]


def _satisfaction_channel(tenant: Tenant, followup: FollowUpRequest) -> NotificationChannel | None:
    """Email when the customer gave one; else SMS to their phone if the business has SMS
    on; else nobody is asked."""
    if followup.email:
        return NotificationChannel.CUSTOMER_EMAIL
    if followup.phone and tenant.sms_enabled:
        return NotificationChannel.CUSTOMER_SMS
    return None


def _asked_satisfaction(followup: FollowUpRequest) -> bool:
    return (
        db.session.scalar(
            select(Notification.id).where(
                Notification.tenant_id == followup.tenant_id,
                Notification.followup_id == followup.id,
                Notification.kind == NotificationKind.SATISFACTION,
            )
        )
        is not None
    )


def add_for_resolved(followup: FollowUpRequest) -> list[DeliveryKey]:
    """Add "How did we do?" for the customer of a request just resolved, unless the
    business turned it off or the customer was asked already: once per request, whatever
    happens to it later. The caller commits it with the status, then `dispatch`es it."""
    tenant = db.session.get(Tenant, followup.tenant_id)
    channel = _satisfaction_channel(tenant, followup)
    if not tenant.satisfaction_survey_enabled or channel is None or _asked_satisfaction(followup):
        return []
    row = _pending(
        tenant.id,
        followup,
        kind=NotificationKind.SATISFACTION,
        channel=channel,
        recipient=_recipient(channel, tenant, followup),
    )
    db.session.flush()
    return [(row.id, 0)]


def add_for_staff_link(token: StaffToken, kind: NotificationKind, address: str) -> DeliveryKey:
    """Add the email carrying a staff member's one-time link to the session; the caller
    commits it with the link, then `dispatch`es it."""
    db.session.flush()  # the link's id
    row = _pending(
        token.tenant_id,
        None,
        kind=kind,
        staff_user_id=token.staff_user_id,
        staff_token_id=token.id,
        channel=NotificationChannel.STAFF_EMAIL,
        recipient=address,
    )
    db.session.flush()
    return (row.id, 0)


def preload() -> None:
    """Prepare in the worker, once, what every delivery needs: RQ runs each job in a
    process forked from the worker, which then starts with it all instead of doing
    it again (a cold delivery costs several times a warm one).

    Besides the templates and the Twilio SDK, the delivery's statements run once on
    a row that does not exist, so SQLAlchemy has set up the database dialect and
    compiled them; the connection is closed before any job forks.
    """
    configure_mappers()
    email.preload()
    sms.preload()
    try:
        _claim([NO_SUCH_ROW])
        _load([NO_SUCH_ROW])
        _record_success(NO_SUCH_ROW, Receipt(""))
    except SQLAlchemyError as exc:  # only an optimisation: the jobs will say what is wrong
        log.warning("Could not prepare the notification statements: %s", exc)
    finally:
        db.session.remove()
        db.engine.dispose()


# --- queueing ----------------------------------------------------------------------------------


def job_id(keys: Iterable[DeliveryKey]) -> str:
    """The job's id names each row and attempt it delivers ("notifications-12_0-13_0"),
    so the sweep can tell from the queue alone which rows have a job waiting."""
    return "notifications-" + "-".join(f"{row_id}_{attempts}" for row_id, attempts in keys)


def _keys_in(job_id_: str) -> list[DeliveryKey]:
    if not job_id_.startswith("notifications-"):
        return []
    pairs = (part.split("_") for part in job_id_.removeprefix("notifications-").split("-"))
    return [(int(row_id), int(attempts)) for row_id, attempts in pairs]


def _enqueue(keys: list[DeliveryKey], when: datetime | None = None) -> None:
    queue_notifications([row_id for row_id, _ in keys], job_id(keys), when)


def dispatch(keys: list[DeliveryKey]) -> None:
    """Queue one job for these rows (a request's notifications), after the commit
    that saved them."""
    if not keys:
        return
    try:
        _enqueue(keys)
    except RedisError as exc:
        log.warning("Notification jobs not queued (%s); the sweep will send them.", exc)


def _schedule_retry(key: DeliveryKey, when: datetime) -> None:
    try:
        _enqueue([key], when)
    except RedisError as exc:
        log.warning("Retry of notification %s not scheduled (%s); the sweep will.", key[0], exc)


def retry_delay(failed_attempts: int) -> timedelta:
    """NOTIFY_RETRY_FIRST_S after the first failure, doubling each time, at most
    NOTIFY_RETRY_MAX_S."""
    config = current_app.config
    seconds = config["NOTIFY_RETRY_FIRST_S"] * 2 ** (failed_attempts - 1)
    return timedelta(seconds=min(seconds, config["NOTIFY_RETRY_MAX_S"]))


# --- delivering --------------------------------------------------------------------------------


def _claim(notification_ids: list[int]) -> dict[int, int]:
    """Take the rows that are due for this worker: pending, or sending under a lease
    that ran out (its worker died). Returns the attempt number of each row taken;
    rows sent already, failed, in another worker's hands or not due are left alone."""
    now = utcnow()
    lease_end = now + timedelta(seconds=current_app.config["NOTIFY_SEND_LEASE_S"])
    if db.session.get_bind().dialect.name == "postgresql":
        # The claim must be seen by other workers at once, not be durable: should the
        # database lose it in a crash, the row is pending again, as if never claimed
        # (the success is written durably, and with it everything before it).
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    claimed = db.session.execute(
        update(Notification)
        .where(
            Notification.id.in_(notification_ids),
            or_(
                and_(
                    Notification.state == DeliveryState.PENDING,
                    Notification.next_attempt_at <= now + CLOCK_TOLERANCE,
                ),
                and_(
                    Notification.state == DeliveryState.SENDING,
                    Notification.next_attempt_at <= now,
                ),
            ),
        )
        .values(
            state=DeliveryState.SENDING,
            attempts=Notification.attempts + 1,
            next_attempt_at=lease_end,
        )
        .returning(Notification.id, Notification.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return dict(claimed)


def _load(notification_ids: list[int]):
    return db.session.execute(
        select(Notification, FollowUpRequest, Tenant)
        # None for a message to a staff member (`kind`).
        .outerjoin(FollowUpRequest, FollowUpRequest.id == Notification.followup_id)
        .join(Tenant, Tenant.id == Notification.tenant_id)
        .where(Notification.id.in_(notification_ids))
        .order_by(Notification.id)
    ).all()


def _staff_link(notification: Notification, tenant: Tenant) -> Outgoing:
    token = db.session.get(StaffToken, notification.staff_token_id)
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        raise Undeliverable(failures.LINK_NO_LONGER_VALID)
    return email.staff_link(notification, token, tenant)


def _outgoing(
    notification: Notification, followup: FollowUpRequest | None, tenant: Tenant
) -> Outgoing:
    if notification.recipient is None:
        raise Undeliverable(failures.NOBODY_TO_TELL[notification.channel])
    if notification.kind in STAFF_LINK_KINDS:
        return _staff_link(notification, tenant)
    return BUILDERS[notification.kind, notification.channel](notification, followup, tenant)


def _prepare(notification_ids: list[int]) -> dict[int, Outgoing | Exception]:
    """Each row's message, or the error that stops it."""
    prepared: dict[int, Outgoing | Exception] = {}
    for notification, followup, tenant in _load(notification_ids):
        try:
            prepared[notification.id] = _outgoing(notification, followup, tenant)
        except Exception as exc:  # recorded for that row; the others go on
            prepared[notification.id] = exc
    return prepared


def deliver(notification_ids: list[int]) -> None:
    """Send each notification unless it was sent already or another worker has it;
    record each outcome as soon as it is known."""
    attempts = _claim(notification_ids)
    if not attempts:
        return
    try:
        prepared = _prepare(list(attempts))
    except Exception as exc:  # the database failed us: every claimed row is retried
        prepared = dict.fromkeys(attempts, exc)
    # No transaction stays open while we wait on the network (SQLite writers would
    # wait for it).
    db.session.rollback()
    for notification_id, outgoing in prepared.items():
        _send_one((notification_id, attempts[notification_id]), outgoing)


def _send_one(key: DeliveryKey, outgoing: Outgoing | Exception) -> None:
    if isinstance(outgoing, Exception):
        _record_failure(key, outgoing)
        return
    try:
        receipt = outgoing.send()
    except Exception as exc:  # every failure is recorded and retried, never lost
        db.session.rollback()
        _record_failure(key, exc)
    else:
        _record_success(key[0], receipt)


def _record_success(notification_id: int, receipt: Receipt) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.state.not_in(DONE))
        .values(
            state=receipt.state,
            sent_at=utcnow(),
            provider_message_id=receipt.provider_id,
            next_attempt_at=None,
        )
    )
    db.session.commit()


def _record_failure(key: DeliveryKey, exc: Exception) -> None:
    """Pending again with a later due time, or failed for good: no more attempts, or
    a failure no retry can fix."""
    notification_id, attempt = key
    final = isinstance(exc, Undeliverable) or attempt >= current_app.config["NOTIFY_MAX_ATTEMPTS"]
    retry_at = None if final else utcnow() + retry_delay(attempt)
    staff_text, technical = failures.explain(exc)
    channel = db.session.execute(
        update(Notification)
        # Only while the row is still ours: a lease that ran out belongs to another job.
        .where(
            Notification.id == notification_id,
            Notification.state == DeliveryState.SENDING,
            Notification.attempts == attempt,
        )
        .values(
            state=DeliveryState.FAILED if final else DeliveryState.PENDING,
            next_attempt_at=retry_at,
            last_error=staff_text,
            last_error_detail=technical,
        )
        .returning(Notification.channel)
    ).scalar_one_or_none()
    db.session.commit()
    _log_failure(key, channel, exc)
    if channel is not None and retry_at is not None:
        _schedule_retry(key, retry_at)


def _log_failure(key: DeliveryKey, channel: str | None, exc: Exception) -> None:
    """Which row failed and how, never the texts: they hold the customer's address or
    the phone number (staff read them on the request's panel)."""
    notification_id, attempt = key
    if channel is None:
        log.warning(
            "Notification %s, attempt %s failed (%s); not recorded: another job has it now.",
            notification_id,
            attempt,
            failures.kind(exc),
        )
        return
    log.warning(
        "Notification %s (%s), attempt %s failed: %s",
        notification_id,
        channel,
        attempt,
        failures.kind(exc),
    )


# --- the sweep ---------------------------------------------------------------------------------


def sweep_once_per_interval() -> int:
    """The sweep as every worker's cron queues it: a lock lets one sweep per interval
    do the work; the others return 0."""
    if not first_in_interval(SWEEP_LOCK_KEY, current_app.config["NOTIFY_SWEEP_INTERVAL_S"]):
        return 0
    queued = sweep()
    record_sweep(SweepKind.NOTIFICATIONS)
    return queued


def sweep() -> int:
    """Queue a job for each unfinished row that is due and has none waiting; returns
    how many it queued. A job that is running or about to run may get a twin: the
    claim lets only one of them send."""
    due = db.session.execute(
        select(Notification.id, Notification.attempts)
        .where(Notification.state.in_(UNFINISHED), Notification.next_attempt_at <= utcnow())
        .order_by(Notification.next_attempt_at)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.commit()
    keys: list[DeliveryKey] = [(row.id, row.attempts) for row in due]
    if not keys:
        return 0
    # Waiting means in the queue's list: a job taken from it by a worker that then
    # died still says "queued" in its own record.
    queued_ids = waiting_job_ids(DELIVER_NOTIFICATIONS)
    waiting = {key for queued in queued_ids for key in _keys_in(queued)}
    lost = [key for key in keys if key not in waiting]
    try:
        for key in lost:
            _enqueue([key])
    except RedisError as exc:
        log.warning("The sweep could not queue notification jobs (%s).", exc)
    return len(lost)


# --- for the admin panel -----------------------------------------------------------------------


def notifications_of(tenant_id: int, followup_id: int) -> list[Notification]:
    """The request's notifications, oldest first; those written together by channel."""
    rows = db.session.scalars(
        select(Notification).where(
            Notification.tenant_id == tenant_id, Notification.followup_id == followup_id
        )
    )
    return sorted(rows, key=lambda row: (row.created_at, CHANNEL_ORDER.index(row.channel)))


# What each notification about a request is, in staff's words.
LABELS = {
    (NotificationKind.NEW_REQUEST, NotificationChannel.STAFF_EMAIL): staff_text(
        "Email to your team"
    ),
    (NotificationKind.NEW_REQUEST, NotificationChannel.STAFF_SMS): staff_text("SMS to your team"),
    (NotificationKind.NEW_REQUEST, NotificationChannel.CUSTOMER_EMAIL): (
        staff_text("Confirmation email to the customer")
    ),
    (NotificationKind.ASSIGNED, NotificationChannel.STAFF_EMAIL): staff_text("Assignment email"),
    (NotificationKind.AT_RISK, NotificationChannel.STAFF_EMAIL): staff_text(
        "At-risk alert by email"
    ),
    (NotificationKind.AT_RISK, NotificationChannel.STAFF_SMS): staff_text("At-risk alert by SMS"),
    (NotificationKind.OVERDUE, NotificationChannel.STAFF_EMAIL): staff_text(
        "Overdue alert by email"
    ),
    (NotificationKind.OVERDUE, NotificationChannel.STAFF_SMS): staff_text("Overdue alert by SMS"),
    (NotificationKind.SATISFACTION, NotificationChannel.CUSTOMER_EMAIL): (
        staff_text('"How did we do?" email to the customer')
    ),
    (NotificationKind.SATISFACTION, NotificationChannel.CUSTOMER_SMS): (
        staff_text('"How did we do?" SMS to the customer')
    ),
}


def label_of(notification: Notification) -> str:
    return staff_gettext(LABELS[notification.kind, notification.channel])


def _parse_notification_id(value: object) -> int:
    number = number_in_range(value, 1, MAX_ID)
    if number is None:
        raise ValidationFailed(
            {"notification_id": staff_gettext("Choose a notification of this request.")}
        )
    return number


BEING_SENT = staff_text("This notification is being sent right now.")


def staff_may_retry(notification: Notification) -> bool:
    """Failed or waiting; or an email saved to a file while no mail server was set, once
    one is: what went to the folder is not lost to the customer or the team."""
    if notification.state == DeliveryState.SAVED_TO_FILE:
        return not email.saves_to_files()
    return notification.state in RETRYABLE_BY_STAFF


def retry_now(tenant_id: int, followup_id: int, notification_id: object) -> Notification:
    """Staff's "Retry now": a failed notification gets a fresh set of attempts, a
    waiting one goes at once; to the current address of the business or member."""
    notification = db.session.scalar(
        select(Notification).where(
            Notification.id == _parse_notification_id(notification_id),
            Notification.tenant_id == tenant_id,
            Notification.followup_id == followup_id,
        )
    )
    if notification is None:
        raise NotFound(staff_gettext("This request has no such notification."))
    if not staff_may_retry(notification):
        raise TransitionNotAllowed(
            staff_gettext("This notification was sent already.")
            if notification.state in DONE
            else staff_gettext(BEING_SENT)
        )
    if not _send_again(notification, notification.state, notification.attempts):
        raise TransitionNotAllowed(staff_gettext(BEING_SENT))
    db.session.refresh(notification)
    return notification


def _send_again(notification: Notification, state: str, attempts_made: int) -> bool:
    """Make a notification seen failed or waiting (`state`, `attempts_made`) due now (a
    failed one with a fresh set of attempts), to the current address, and queue it;
    False when it changed since (a worker took it: it is in hand, not to be sent twice)."""
    tenant = db.session.get(Tenant, notification.tenant_id)
    followup = db.session.get(FollowUpRequest, notification.followup_id)
    member = (
        db.session.get(StaffUser, notification.staff_user_id)
        if notification.staff_user_id
        else None
    )
    attempts = attempts_made if state == DeliveryState.PENDING else 0
    changed = db.session.execute(
        update(Notification)
        .where(
            Notification.id == notification.id,
            Notification.state == state,
            Notification.attempts == attempts_made,
        )
        .values(
            state=DeliveryState.PENDING,
            attempts=attempts,
            next_attempt_at=utcnow(),
            recipient=_recipient(notification.channel, tenant, followup, member),
        )
    ).rowcount
    db.session.commit()
    if changed:
        dispatch([(notification.id, attempts)])
    return bool(changed)


# --- the System page: what failed or waits for another attempt, for a whole business ------------

TROUBLE_LIST_LIMIT = 10
RETRY_ALL_LIMIT = 200  # per click: the request stays short; the page says when more remain


def _in_trouble(tenant_id: int):
    """The business's notifications about requests that failed for good, or failed and
    wait for their next attempt. (A staff link that failed is sent again from the Team
    page: a new link.)"""
    return select(Notification).where(
        Notification.tenant_id == tenant_id,
        Notification.followup_id.is_not(None),
        or_(
            Notification.state == DeliveryState.FAILED,
            and_(
                Notification.state == DeliveryState.PENDING,
                Notification.attempts > 0,
            ),
        ),
    )


def count_in_trouble(tenant_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(_in_trouble(tenant_id).subquery()))


def newest_in_trouble(tenant_id: int, limit: int = TROUBLE_LIST_LIMIT) -> list[Notification]:
    return list(
        db.session.scalars(
            _in_trouble(tenant_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def retry_all(tenant_id: int) -> int:
    """ "Retry all": every failed or waiting notification of the business about a request
    goes again now, as "Retry now" sends one (at most RETRY_ALL_LIMIT, oldest first);
    returns how many were queued. One a worker holds right now is left to it."""
    rows = db.session.scalars(
        _in_trouble(tenant_id)
        .order_by(Notification.created_at, Notification.id)
        .limit(RETRY_ALL_LIMIT)
    ).all()
    # As read now: each commit below expires the rows, and a row read again later may
    # be in a worker's hands.
    seen = [(row, row.state, row.attempts) for row in rows]
    return sum(_send_again(row, state, attempts) for row, state, attempts in seen)
