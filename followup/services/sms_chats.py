"""Chats by SMS: an inbound text starts or continues the chat of that number with
the AI employee whose SMS number it was sent to; the AI answers by SMS.

The webhook (`followup.web.hooks`) calls `receive` and queues the answer
(`sms_answers.queue_answer`), so Twilio gets its reply in milliseconds; the job
(`followup.jobs.sms`) calls `answer_and_send`, which texts what the AI wrote. No
form can be shown by SMS: once the AI offers a follow-up (or cannot answer at all),
the details are asked for and read back by text (`services.capture`), the sender's
number pre-filled as the phone.

STOP and its synonyms opt the customer out of this chat (no AI answer, no
reminder, nothing sent); START or UNSTOP opts them back in. Twilio's own opt-out
handling sends the customer its standard confirmation, so we text nothing back.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from followup.errors import NotFound
from followup.extensions import db
from followup.locales import in_language, staff_gettext, staff_text
from followup.models import Agent, AnswerState, Channel, Chat, Customer, Message, Role, Tenant
from followup.services import autofollowup, capture, chats, messages, sms_answers
from followup.services.validation import normalize_phone, without_refused_characters

log = logging.getLogger(__name__)

# Twilio's default opt-out and opt-in keywords: the whole message, any case.
STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_KEYWORDS = frozenset({"START", "UNSTOP"})
# Twilio also opts a stopped number back in on YES; otherwise "yes" is just an answer.
START_WHEN_OPTED_OUT = frozenset({"YES"})


@dataclass(frozen=True)
class Received:
    """What an inbound SMS did: the chat, and the client message the AI should
    answer (None when the text was a keyword)."""

    chat_id: int
    message_id: int | None


def agent_for_number(number: object) -> Agent:
    """The AI employee whose SMS number this is; any other number is a 404."""
    agent = None
    if isinstance(number, str) and number:
        agent = db.session.scalar(select(Agent).where(Agent.sms_number == number))
    if agent is None:
        raise NotFound(staff_gettext("No AI employee has this SMS number."))
    return agent


def receive(to_number: object, from_number: object, text: object) -> Received:
    """Store an inbound SMS in its chat, awaiting its answer (`sms_answers`) in the same
    commit. Bad input raises before anything is stored."""
    agent = agent_for_number(to_number)
    phone = normalize_phone(str(from_number or ""), field="From", label=staff_text("From"))
    try:
        return _store(chat_for(agent, phone), printable(text))
    except Exception:
        db.session.rollback()  # a new chat is only flushed: it goes too
        raise


def _store(chat: Chat, text: object) -> Received:
    keyword = _keyword(text)
    if keyword in STOP_KEYWORDS:
        opt_out(chat, keyword)
        return Received(chat.id, None)
    if keyword in START_KEYWORDS or (chat.opted_out and keyword in START_WHEN_OPTED_OUT):
        opt_in(chat, keyword)
        return Received(chat.id, None)
    message = chats.post_client_message(chat, text)
    return Received(chat.id, message.id)


def printable(text: object) -> object:
    """The text without the characters the web refuses (`validation`'s one rule: NUL
    and other control characters, which a phone can send and the database may refuse),
    keeping line breaks and tabs: the customer's words are kept."""
    return without_refused_characters(text) if isinstance(text, str) else text


def _keyword(text: object) -> str:
    return text.strip().strip(".!").upper() if isinstance(text, str) else ""


def chat_for(agent: Agent, phone: str) -> Chat:
    """The chat of this number with this agent, started on its first message."""
    chat = _latest_chat(agent, phone)
    if chat is None:
        # Two first texts at once must not open two chats. A no-op UPDATE of the agent
        # locks its row on PostgreSQL and takes the write lock on SQLite (whose reads
        # run outside transactions), so the second one waits here, then finds the chat.
        db.session.execute(
            update(Agent).where(Agent.id == agent.id).values(sms_number=Agent.sms_number)
        )
        chat = _latest_chat(agent, phone) or _start_chat(agent, phone)
    return chat


def _latest_chat(agent: Agent, phone: str) -> Chat | None:
    return db.session.scalar(
        select(Chat)
        .where(Chat.agent_id == agent.id, Chat.phone == phone, Chat.channel == Channel.SMS)
        .order_by(Chat.id.desc())
        .limit(1)
    )


def _start_chat(agent: Agent, phone: str) -> Chat:
    customer = customer_with_phone(agent.tenant_id, phone)
    chat = Chat(
        tenant_id=agent.tenant_id,
        agent=agent,
        channel=Channel.SMS,
        phone=phone,
        customer=customer,
        title=(customer.name if customer and customer.name else phone),
        # The carrier's number, offered to the follow-up form like other unsigned data.
        visitor={"phone": phone},
        # No browser or website says more: the business's language for visitors.
        locale=db.session.get(Tenant, agent.tenant_id).visitor_locale,
    )
    db.session.add(chat)
    db.session.flush()  # committed with its first message, or not at all
    return chat


def customer_with_phone(tenant_id: int, phone: str) -> Customer | None:
    """The tenant's customer with this phone; None when nobody or several share it.

    A link to a chat is no proof of identity (`chat_identity.signed_in_customer`), so
    it only names the chat and groups it with the customer's requests.
    """
    found = db.session.scalars(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.phone == phone).limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def opt_out(chat: Chat, keyword: str) -> None:
    """The customer texted STOP: nothing more is sent on this chat, reminders end, and
    a follow-up being captured is dropped (they asked for silence, not a call back)."""
    autofollowup.opt_out(chat)
    capture.finish(chat)
    note = staff_gettext(
        "The customer texted %(keyword)s: opted out of SMS. Nothing more is sent.", keyword=keyword
    )
    messages.note_for_staff(chat, note)


def opt_in(chat: Chat, keyword: str) -> None:
    chat.opted_out = False
    note = staff_gettext("The customer texted %(keyword)s: opted back in to SMS.", keyword=keyword)
    messages.note_for_staff(chat, note)


def answer_and_send(chat_id: int, message_id: int) -> int | None:
    """Let the AI answer this text if it still should (`answer`), and text the answer (a
    failed send is retried on its own); returns the answer's id."""
    reply = answer(chat_id, message_id)
    if reply is None:
        return None
    chats.deliver_message(reply.chat, reply)
    return reply.id


def answer(chat_id: int, message_id: int) -> Message | None:
    """The AI's answer to this text, saved (which marks the text answered in the same
    commit); None when another job has the text, it was settled already, or it needs
    no answer (then it is marked so). A failure gives the text back for a retry."""
    attempt = sms_answers.claim(message_id)
    if attempt is None:
        return None
    if attempt > sms_answers.MAX_ATTEMPTS:
        sms_answers.settle(message_id, AnswerState.GAVE_UP)
        note_unanswered(chat_id)  # commits both
        return None
    try:
        return _answer_claimed(chat_id, message_id)
    except Exception:
        db.session.rollback()
        _give_back(message_id)
        raise


def _give_back(message_id: int) -> None:
    try:
        sms_answers.release(message_id)
    except SQLAlchemyError as exc:  # the database is away: the sweep takes it after its lease
        db.session.rollback()
        log.warning("SMS %s not given back for a retry (%s).", message_id, type(exc).__name__)


def _answer_claimed(chat_id: int, message_id: int) -> Message | None:
    chat = db.session.get(Chat, chat_id)
    if chat is None or not awaits_answer(chat, message_id):
        reply = None
    else:
        with in_language(chat.locale):
            reply = chats.reply(chat)
    if reply is None:  # see `awaits_answer`; or a staff member is in charge
        sms_answers.settle(message_id, AnswerState.NOT_NEEDED)
        db.session.commit()
    return reply


def awaits_answer(chat: Chat, message_id: int) -> bool:
    """Answer only the chat's latest text: a burst of texts gets one answer (the last
    job's, which sees them all), and a text that came while the AI answered the one
    before gets its own. (An answer, staff's or the AI's, settles the texts it answered,
    so their jobs never get here; during a human takeover `chats.agent_turn` itself
    stays silent, on every channel.)"""
    if chat.channel != Channel.SMS or chat.opted_out:
        return False
    latest = db.session.scalar(
        select(Message.id)
        .where(Message.chat_id == chat.id, Message.role == Role.CLIENT)
        .order_by(Message.id.desc())
        .limit(1)
    )
    return latest == message_id


def note_unanswered(chat_id: int) -> None:
    chat = db.session.get(Chat, chat_id)
    messages.note_for_staff(
        chat,
        staff_gettext("The AI could not answer this text after several tries: please answer it."),
    )
