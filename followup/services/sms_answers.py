"""Every inbound text gets one answer: its claim to one (`SmsAnswer`) is saved with it.

- `await_answer` stages the claim in the text's own transaction (the webhook's), so a
  text whose job Redis never took or lost still waits in the database.
- `claim` lets one job answer it (one conditional UPDATE): a duplicate, an RQ retry
  and a job the sweep queued never both answer. `release` gives it back when the job
  fails, for RQ's retry.
- `settle_chat` runs in the transaction that saves an answer (AI or staff): the
  unsettled texts it answers (the AI's: those its turn read; staff's: all) are
  answered by it, as `sms_chats.awaits_answer` reads it.
- `sweep` queues the texts whose job never came or whose lease ran out (`take_due`),
  each taken for one more lease so two sweeps (or the next one) do not queue it again.

A text's `due_at` is when the sweep may take it while it waits, and the end of its
job's lease while it is answered; None once settled. SMS_ANSWER_LEASE_S sets both.
"""

import logging
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import and_, or_, update

from followup.clock import utcnow
from followup.extensions import db
from followup.models import AnswerState, Chat, Message, SmsAnswer
from followup.models.sms_answer import UNSETTLED
from followup.queue import SweepKind, queue_sms_answer, record_sweep
from followup.services.queries import take_due_leases

log = logging.getLogger(__name__)

# A text whose job failed this many times gets no more: staff are told in the chat.
MAX_ATTEMPTS = 8


def lease() -> timedelta:
    return timedelta(seconds=current_app.config["SMS_ANSWER_LEASE_S"])


def job_timeout_s() -> int:
    """RQ stops the answer job before its lease ends, so a job that outlived its lease
    cannot write an answer while the sweep's job writes another."""
    return max(1, int(current_app.config["SMS_ANSWER_LEASE_S"] * 0.8))


def queue_answer(chat_id: int, message_id: int) -> None:
    """Queue the answer to a text saved (with its `SmsAnswer`) and committed."""
    queue_sms_answer(chat_id, message_id, job_timeout_s())


def sweep() -> int:
    """Queue an answer job for every text whose wait ran out; returns how many. Sweeps
    running at once (every worker's cron) take each text once."""
    due = take_due()
    try:
        for chat_id, message_id in due:
            queue_answer(chat_id, message_id)
    except RedisError as exc:  # taken for one more lease: the next sweep tries again
        log.warning("The SMS answer sweep could not queue its jobs (%s).", exc)
    record_sweep(SweepKind.SMS_ANSWERS)
    return len(due)


def await_answer(message: Message) -> None:
    """Stage the text's claim to an answer; the caller commits it with the text."""
    db.session.flush()  # the message's id
    db.session.add(
        SmsAnswer(
            message_id=message.id,
            chat_id=message.chat_id,
            state=AnswerState.WAITING,
            attempts=0,
            due_at=utcnow() + lease(),
        )
    )


def claim(message_id: int) -> int | None:
    """Take the text for this job: waiting, or answered by a job whose lease ran out.
    Returns this attempt's number; None when it is settled or another job has it."""
    now = utcnow()
    attempt = db.session.execute(
        update(SmsAnswer)
        .where(
            SmsAnswer.message_id == message_id,
            or_(
                SmsAnswer.state == AnswerState.WAITING,
                and_(SmsAnswer.state == AnswerState.ANSWERING, SmsAnswer.due_at <= now),
            ),
        )
        .values(
            state=AnswerState.ANSWERING,
            attempts=SmsAnswer.attempts + 1,
            due_at=now + lease(),
        )
        .returning(SmsAnswer.attempts)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    db.session.commit()
    return attempt


def release(message_id: int) -> None:
    """The job failed: the text waits again, for RQ's retry or else the sweep."""
    _set(message_id, AnswerState.WAITING, utcnow() + lease(), only=AnswerState.ANSWERING)
    db.session.commit()


def settle(message_id: int, state: AnswerState) -> None:
    """Stage the end of the text's wait without an answer (`NOT_NEEDED`, `GAVE_UP`)."""
    _set(message_id, state, None, only=AnswerState.ANSWERING)


def _set(message_id: int, state: AnswerState, due_at, only: AnswerState) -> None:
    db.session.execute(
        update(SmsAnswer)
        .where(SmsAnswer.message_id == message_id, SmsAnswer.state == only)
        .values(state=state, due_at=due_at)
        .execution_options(synchronize_session=False)
    )


def settle_chat(chat: Chat, up_to: int | None = None) -> None:
    """Stage: the answer being saved answers the chat's unsettled texts up to `up_to`
    (the last one its writer read; None: all). A text that came while the AI wrote
    waits for its own job, which answers it seeing the whole chat."""
    settled = [SmsAnswer.chat_id == chat.id, SmsAnswer.state.in_(UNSETTLED)]
    if up_to is not None:
        settled.append(SmsAnswer.message_id <= up_to)
    db.session.execute(
        update(SmsAnswer)
        .where(*settled)
        .values(state=AnswerState.ANSWERED, due_at=None)
        .execution_options(synchronize_session=False)
    )


def take_due() -> list[tuple[int, int]]:
    """(chat id, message id) of each text the sweep should queue a job for, taken for
    one more lease; answered by a dead job (its lease ran out), it waits again."""
    return take_due_leases(
        SmsAnswer, UNSETTLED, AnswerState.WAITING, lease(), SmsAnswer.chat_id, SmsAnswer.message_id
    )
