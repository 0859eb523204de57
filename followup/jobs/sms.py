"""SMS jobs: the AI's answer to an inbound text, sending a chat message by SMS, and the
sweeps for texts still waiting for their answer and messages still to send.

The database says which texts wait for an answer (`services.sms_answers`) and which
messages are still to send and when (`services.sms_sends`); Redis only carries the
jobs. A failed answer job is retried by RQ with growing delays; a send that failed
in a way that may pass is queued for its retry time. A job that was lost (a worker
killed, Redis restarted empty) is queued again by a sweep once its time has come.
The answer is written (and its tokens spent) only once: a failed send is retried on
its own.
"""

import logging
from datetime import datetime

from redis.exceptions import RedisError
from rq import Retry

from followup.queue import enqueue, queue_for
from followup.services import chats, sms_answers, sms_chats, sms_sends

log = logging.getLogger(__name__)

# Seconds before RQ runs a failed answer job again (the database or Redis away).
ANSWER_RETRY_INTERVALS_S = (2, 15, 60)


def queue_answer(chat_id: int, message_id: int) -> None:
    """Queue the answer to a text saved (with its `SmsAnswer`) and committed."""
    enqueue(
        answer_sms,
        chat_id,
        message_id,
        job_timeout=sms_answers.job_timeout_s(),
        retry=Retry(max=len(ANSWER_RETRY_INTERVALS_S), interval=list(ANSWER_RETRY_INTERVALS_S)),
    )


def answer_sms(chat_id: int, message_id: int) -> int | None:
    """Let the AI answer this text if it still should, and text the answer (a failed
    send is retried by `send_sms`); returns the answer's id. Raising asks RQ to retry."""
    reply = sms_chats.answer(chat_id, message_id)
    if reply is None:
        return None
    chats.deliver_message(reply.chat, reply)
    return reply.id


def sweep_sms_answers() -> int:
    """Cron job: queue an answer job for every text whose wait ran out; returns how
    many. Sweeps running at once (every worker's cron) take each text once."""
    due = sms_answers.take_due()
    try:
        for chat_id, message_id in due:
            queue_answer(chat_id, message_id)
    except RedisError as exc:  # taken for one more lease: the next sweep tries again
        log.warning("The SMS answer sweep could not queue its jobs (%s).", exc)
    return len(due)


def queue_sms(message_id: int, attempts: int, at: datetime) -> None:
    """Queue the send of a message tried `attempts` times so far, for `at`."""
    queue_for(send_sms).enqueue_at(
        at, send_sms, message_id, attempts, job_timeout=sms_answers.job_timeout_s()
    )


def send_sms(message_id: int, attempts: int = 0) -> None:
    """Text a saved chat message to the chat's customer, unless it is sent, being sent,
    or this job is stale (the message was tried other than `attempts` times)."""
    sms_sends.send(message_id, attempts)


def sweep_sms_sends() -> int:
    """Cron job: queue a send for every message whose retry time has come or whose
    sender died; returns how many. Sweeps running at once take each message once."""
    due = sms_sends.take_due()
    try:
        for message_id, attempts in due:
            enqueue(send_sms, message_id, attempts, job_timeout=sms_answers.job_timeout_s())
    except RedisError as exc:  # taken for one more lease: the next sweep tries again
        log.warning("The SMS send sweep could not queue its jobs (%s).", exc)
    return len(due)
