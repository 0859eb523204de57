"""SMS jobs: the AI's answer to an inbound text, and sending a chat message by SMS.

A send that fails in a way that may pass is queued as its own job with retries
(`queue_sms`), so the answer is written (and its tokens spent) only once.
"""

from rq import Retry, get_current_job

from followup.extensions import db
from followup.jobs import enqueue
from followup.models import Message
from followup.services import channels, chats, sms_chats

# Seconds between attempts after a failed send (Twilio down or busy); after the
# last one the chat gets a note for staff that the message was not delivered.
SEND_RETRY_INTERVALS_S = (10, 30, 120, 600, 1800)


def answer_sms(chat_id: int, message_id: int) -> int | None:
    """Let the AI answer this client message if it still should, and text the answer
    (a failed send is retried by `send_sms`); returns the answer's id."""
    reply = sms_chats.answer(chat_id, message_id)
    if reply is None:
        return None
    chats.deliver_message(reply.chat, reply)
    return reply.id


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
