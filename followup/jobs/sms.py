"""SMS jobs: the AI's answer to an inbound text, the sweep for texts still waiting
for theirs, and sending a chat message by SMS.

The database says which texts wait for an answer (`services.sms_answers`); Redis only
carries the jobs. A failed answer job is retried by RQ with growing delays; a text
whose job was lost (a worker killed, Redis restarted empty) is queued again by the
sweep once its lease ran out (SMS_ANSWER_LEASE_S). A send that fails in a way that
may pass is queued as its own job with retries (`queue_sms`), so the answer is
written (and its tokens spent) only once.
"""

import logging

from redis.exceptions import RedisError
from rq import Retry, get_current_job

from followup.extensions import db
from followup.jobs import enqueue
from followup.models import Message
from followup.services import channels, chats, sms_answers, sms_chats

log = logging.getLogger(__name__)

# Seconds between attempts after a failed send (Twilio down or busy); after the
# last one the chat gets a note for staff that the message was not delivered.
SEND_RETRY_INTERVALS_S = (10, 30, 120, 600, 1800)
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


def queue_sms(message_id: int) -> None:
    enqueue(
        send_sms,
        message_id,
        retry=Retry(max=len(SEND_RETRY_INTERVALS_S), interval=list(SEND_RETRY_INTERVALS_S)),
    )


def send_sms(message_id: int) -> None:
    """Text a saved chat message to the chat's customer. Raising asks RQ to retry."""
    message = db.session.get(Message, message_id)
    if message is None:
        return  # the chat was deleted meanwhile
    try:
        channels.deliver(message.chat, message)
    except channels.DeliveryFailed as exc:
        if _retries_left():
            raise
        sms_chats.note_undelivered(message, exc)
    except channels.Undeliverable as exc:  # trying again would fail the same way
        sms_chats.note_undelivered(message, exc)


def _retries_left() -> bool:
    job = get_current_job()
    return bool(job is not None and job.retries_left)
