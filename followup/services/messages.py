"""Adding a message to a chat: the one place it happens, with what each role does.

`append` stages the message (the caller commits it with whatever else its
transaction holds) and applies its role's effects on the chat, in that transaction:

- the client's message starts a new cycle of the reminder chain (`autofollowup`)
  and, on SMS, waits for an answer (`sms_answers`);
- an answer of the business (the AI's or staff's) is the chat's last word; on SMS it
  settles the texts it answers and is to be texted (its `SmsSend`);
- a staff reply also starts a human takeover and ends a capture in progress, as a
  reminder does: the client's next message answers them, not the capture's question;
- a system line (`note_for_staff`) is for staff only and changes nothing else.
"""

from datetime import datetime

from followup.clock import utcnow
from followup.extensions import db
from followup.models import Channel, Chat, Message, Role, SendState, SmsSend
from followup.services import autofollowup, capture, sms_answers


def append(
    chat: Chat,
    role: Role,
    content: str,
    *,
    at: datetime | None = None,
    answers_up_to: int | None = None,
    **fields,
) -> Message:
    """Stage `content` as `role`'s message in `chat`, written `at` (now by default).
    `answers_up_to`: on the AI's answer, the last client message its turn read."""
    at = at or utcnow()
    # A chat opened in this transaction has no id yet: the message names the chat itself.
    of_chat = {"chat_id": chat.id} if chat.id is not None else {"chat": chat}
    message = Message(role=role, content=content, created_at=at, **of_chat, **fields)
    if role == Role.CLIENT:
        # It locks the chat and reads it afresh, with the message's times written.
        autofollowup.on_client_message(chat, at)
    elif role in (Role.AGENT, Role.STAFF):
        _stage_business_word(chat, message)
    db.session.add(message)
    if chat.channel == Channel.SMS:
        _stage_sms_state(chat, message, answers_up_to)
    return message


def _stage_business_word(chat: Chat, message: Message) -> None:
    chat.last_message_at = message.created_at
    if message.role == Role.STAFF:
        chat.last_staff_reply_at = message.created_at
    if message.role == Role.STAFF or message.reminder_step_id is not None:
        # The client did not prompt it: their next message answers it, not a capture's
        # last question.
        capture.finish(chat)


def _stage_sms_state(chat: Chat, message: Message, answers_up_to: int | None) -> None:
    """A customer's text awaits an answer from the moment it is saved. An answer of the
    business settles the texts it answers (the AI's: those its turn read, up to
    `answers_up_to`; staff's: every one there when it was sent; a reminder's: none) and
    is to be texted, in its own commit."""
    if message.role == Role.CLIENT:
        sms_answers.await_answer(message)
    elif message.role in (Role.AGENT, Role.STAFF):
        if message.reminder_step_id is None:
            sms_answers.settle_chat(chat, answers_up_to)
        _stage_sms_send(message)


def _stage_sms_send(message: Message) -> None:
    """Its delivery (`sms_sends`), due after a lease: until then the sender that saved
    it sends it."""
    db.session.flush()  # the message's id
    db.session.add(
        SmsSend(
            message_id=message.id,
            state=SendState.TO_SEND,
            attempts=0,
            due_at=utcnow() + sms_answers.lease(),
        )
    )


def note_for_staff(chat: Chat, text: str) -> Message:
    """A system line in the chat, committed: staff see it; the AI and the customer
    never do."""
    message = append(chat, Role.SYSTEM, text)
    db.session.commit()
    return message
