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

from followup.services import sms_answers, sms_chats, sms_sends


def answer_sms(chat_id: int, message_id: int) -> int | None:
    """The AI's answer to this text, texted; returns its id. Raising asks RQ to retry."""
    return sms_chats.answer_and_send(chat_id, message_id)


def sweep_sms_answers() -> int:
    """Cron job: queue an answer job for every text whose wait ran out."""
    return sms_answers.sweep()


def send_sms(message_id: int, attempts: int = 0) -> None:
    """Text a saved chat message to the chat's customer, unless it is sent, being sent,
    or this job is stale (the message was tried other than `attempts` times)."""
    sms_sends.send(message_id, attempts)


def sweep_sms_sends() -> int:
    """Cron job: queue a send for every message whose retry time has come or whose
    sender died."""
    return sms_sends.sweep()
