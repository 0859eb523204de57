"""Delivering an agent's saved message to the customer on the chat's channel.

`deliver(chat, message)` is called after the message is committed, so a failure
here never loses it: the caller decides whether to try again.

- Web: nothing to send; the open widget picks the message up (polling or its
  stream) and a returning visitor sees it in the history.
- SMS: the text goes to `chat.phone` through Twilio (the SDK set up in
  `followup.notify.sms`, honouring TWILIO_API_BASE), from the agent's own number,
  or TWILIO_FROM_NUMBER when the agent has none; each part's SID is saved on the
  message as Twilio accepts it, so no part is texted twice.

Failures raise `DeliveryFailed` when trying again later may help (Twilio down,
busy or unreachable) and `Undeliverable` when it cannot (SMS not configured, a
number Twilio refuses, a customer who opted out: `OptedOut`). What staff must know
about a chat's delivery (a message that never arrived, the customer's STOP) is a
note in the chat (`messages.note_for_staff`).
"""

import logging

import requests

from followup.extensions import db
from followup.locales import staff_gettext
from followup.models import Channel, Chat, Message
from followup.notify import DeliveryFailed, Undeliverable
from followup.notify.failures import kind
from followup.notify.sms import OutgoingSms
from followup.services import messages

__all__ = [
    "DeliveryFailed",
    "OptedOut",
    "Undeliverable",
    "deliver",
    "note_undelivered",
    "sms_parts",
]

log = logging.getLogger(__name__)

# Twilio refuses bodies over 1600 characters (error 21617); longer text goes in parts.
SMS_MAX_CHARS = 1600


class OptedOut(Undeliverable):
    """The customer texted STOP: nothing more may be sent to them on this chat."""


def deliver(chat: Chat, message: Message) -> None:
    if chat.channel == Channel.WEB:
        return  # the widget shows it; there is nothing to push from here
    if chat.channel == Channel.SMS:
        _send_sms(chat, message)
        return
    raise Undeliverable(f"Chat {chat.id} has an unknown channel {chat.channel!r}.")


def sender_number(chat: Chat) -> str | None:
    """The agent's own SMS number; None lets the Twilio set-up use TWILIO_FROM_NUMBER."""
    return chat.agent.sms_number or None


def _send_sms(chat: Chat, message: Message) -> None:
    """Text each part Twilio has not accepted yet, saving each SID as it comes back:
    a send tried again (a retry, a job run twice) never repeats a part. Twilio's
    Messages API takes no idempotency key, so only a crash between Twilio accepting a
    part and that commit can still repeat it (README, "Reliability")."""
    # Checked here, the last step before Twilio, so no caller can forget it.
    if chat.opted_out:
        raise OptedOut(f"The customer of chat {chat.id} opted out of SMS (STOP).")
    if not chat.phone:
        raise Undeliverable(f"Chat {chat.id} has no phone number to text.")
    sender = sender_number(chat)
    sids = list(message.sms_sids or [])
    for part in sms_parts(message.content)[len(sids) :]:
        try:
            receipt = OutgoingSms(chat.phone, part, sender).send()
        except requests.RequestException as exc:  # no answer at all: may pass later
            raise DeliveryFailed(f"Twilio could not be reached: {type(exc).__name__}") from exc
        sids.append(receipt.provider_id)
        message.sms_sids = list(sids)  # a new list: SQLAlchemy sees the change
        db.session.commit()


def sms_parts(text: str, limit: int = SMS_MAX_CHARS) -> list[str]:
    """The text in as few messages as Twilio accepts, cut between words where possible."""
    text = text.strip()
    if not text:
        raise Undeliverable("The message is empty; there is nothing to text.")
    parts = []
    while len(text) > limit:
        cut = max(text.rfind(space, 0, limit + 1) for space in (" ", "\n"))
        cut = cut if cut > limit // 2 else limit  # one very long word: cut inside it
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    parts.append(text)
    return parts


def note_undelivered(message: Message, error: Exception) -> None:
    """Tell staff in the chat that this message never reached the customer's phone."""
    # Only the failure's kind: Twilio's text names the customer's number (staff see it).
    log.warning("SMS of message %s not delivered: %s", message.id, kind(error))
    chat = db.session.get(Chat, message.chat_id)
    note = staff_gettext("This message could not be sent by SMS: %(reason)s", reason=error)
    messages.note_for_staff(chat, note)
