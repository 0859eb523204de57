"""Every outgoing message of an SMS chat reaches the customer's phone, or staff hear why
not: its delivery (`SmsSend`) is saved with it, and the database, not Redis, says
what is still to send and when.

- `messages.append` adds the delivery in the message's own transaction (AI answers,
  staff replies, reminders), so a sender killed after that commit leaves it to send.
- `send` claims it (one conditional UPDATE) before texting: of two senders (the job
  of a retry and the sweep's, a job run twice) one sends, the other does nothing. A
  failure that may pass makes it due again after the next of SEND_RETRY_INTERVALS_S
  and queues a job for then; a lasting one (or the last attempt) ends in a note for
  staff in the chat.
- `sweep` queues the sends whose retry time has come whose job Redis lost, and sends
  whose sender died (its lease ran out), each taken (`take_due`) for one more lease so
  the next sweep does not queue it again.

Parts Twilio accepted keep their SID on the message (`channels`), and a send tried
again skips them. A claim names the attempts it expects (`attempts` of the row when
its job was queued), so a stale job cannot send before the retry's time.
SMS_ANSWER_LEASE_S is the lease of a send as of an answer.
"""

import logging
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import and_, or_, update

from followup.clock import utcnow
from followup.extensions import db
from followup.models import Message, SendState, SmsSend
from followup.models.sms_send import UNSETTLED
from followup.notify.failures import kind
from followup.queue import SweepKind, queue_sms_send, record_sweep
from followup.services import channels, sms_answers
from followup.services.queries import take_due_leases

log = logging.getLogger(__name__)

# Seconds between attempts after a failed send (Twilio down or busy); after the
# last one the chat gets a note for staff that the message was not delivered.
SEND_RETRY_INTERVALS_S = (10, 30, 120, 600, 1800)
MAX_ATTEMPTS = len(SEND_RETRY_INTERVALS_S) + 1


def send(message_id: int, expected_attempts: int = 0) -> None:
    """Text the message if it is still to send and no other sender has it. Failures
    are recorded (retry time, or the note for staff), never raised."""
    attempt = claim(message_id, expected_attempts)
    if attempt is None:
        return
    message = db.session.get(Message, message_id)
    if attempt > MAX_ATTEMPTS:  # its senders kept dying mid-send
        _give_up(message, attempt, channels.DeliveryFailed(f"{attempt - 1} tries did not finish."))
        return
    try:
        channels.deliver(message.chat, message)
    except channels.DeliveryFailed as exc:
        db.session.rollback()
        _failed(message, attempt, exc)
    except channels.Undeliverable as exc:  # trying again would fail the same way
        db.session.rollback()
        _give_up(message, attempt, exc)
    else:
        _settle(message_id, attempt, SendState.SENT)
        db.session.commit()


def claim(message_id: int, expected_attempts: int) -> int | None:
    """Take the send for this sender: to send, or sending by one whose lease ran out,
    and tried `expected_attempts` times so far. Returns this attempt's number; None
    when it is settled, another sender has it, or the job is stale."""
    now = utcnow()
    attempt = db.session.execute(
        update(SmsSend)
        .where(
            SmsSend.message_id == message_id,
            SmsSend.attempts == expected_attempts,
            or_(
                SmsSend.state == SendState.TO_SEND,
                and_(SmsSend.state == SendState.SENDING, SmsSend.due_at <= now),
            ),
        )
        .values(
            state=SendState.SENDING, attempts=SmsSend.attempts + 1, due_at=now + sms_answers.lease()
        )
        .returning(SmsSend.attempts)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    db.session.commit()
    return attempt


def _failed(message: Message, attempt: int, error: Exception) -> None:
    if attempt >= MAX_ATTEMPTS:
        _give_up(message, attempt, error)
        return
    retry_at = utcnow() + timedelta(seconds=SEND_RETRY_INTERVALS_S[attempt - 1])
    log.warning("SMS of message %s not delivered yet, retrying: %s", message.id, kind(error))
    _settle(message.id, attempt, SendState.TO_SEND, retry_at)
    db.session.commit()
    _queue_retry(message.id, attempt, retry_at)


def _queue_retry(message_id: int, attempts: int, at: datetime) -> None:
    try:
        queue_sms_send(message_id, attempts, sms_answers.job_timeout_s(), at)
    except RedisError as exc:  # due in the database: the sweep queues it
        log.warning("SMS of message %s: retry left to the sweep (%s).", message_id, exc)


def _give_up(message: Message, attempt: int, error: Exception) -> None:
    """Staff are told in the chat, in the commit that ends the send."""
    _settle(message.id, attempt, SendState.UNDELIVERABLE)
    channels.note_undelivered(message, error)


def _settle(
    message_id: int, attempt: int, state: SendState, due_at: datetime | None = None
) -> None:
    """Stage the end of this attempt, unless another sender took the send since (this
    one outlived its lease)."""
    db.session.execute(
        update(SmsSend)
        .where(
            SmsSend.message_id == message_id,
            SmsSend.state == SendState.SENDING,
            SmsSend.attempts == attempt,
        )
        .values(state=state, due_at=due_at)
        .execution_options(synchronize_session=False)
    )


def take_due() -> list[tuple[int, int]]:
    """(message id, attempts) of each send the sweep should queue a job for, taken for
    one more lease; one whose sender died (its lease ran out) is to send again."""
    return take_due_leases(
        SmsSend,
        UNSETTLED,
        SendState.TO_SEND,
        sms_answers.lease(),
        SmsSend.message_id,
        SmsSend.attempts,
    )


def sweep() -> int:
    """Queue a send for every message whose retry time has come or whose sender died;
    returns how many. Sweeps running at once (every worker's cron) take each once."""
    due = take_due()
    try:
        for message_id, attempts in due:
            queue_sms_send(message_id, attempts, sms_answers.job_timeout_s())
    except RedisError as exc:  # taken for one more lease: the next sweep tries again
        log.warning("The SMS send sweep could not queue its jobs (%s).", exc)
    record_sweep(SweepKind.SMS_SENDS)
    return len(due)
