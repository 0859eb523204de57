"""Chats with the AI agent: sessions, messages, the agent's turn, and follow-ups from chat.

The widget's HTMX pages and its JSON API both call these functions, so the two
can never disagree about what a turn does.
"""

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import bindparam, exists, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import aliased

from followup.clock import utcnow
from followup.errors import DomainError, NotFound, ValidationFailed
from followup.extensions import db
from followup.llm import prompts
from followup.llm.client import Completion, LLMUnavailable, TextDelta, is_configured, stream_chat
from followup.locales import in_language, mark, staff_gettext, staff_text
from followup.logs import note_tenant
from followup.models import (
    ActionType,
    Agent,
    Channel,
    Chat,
    FollowUpRequest,
    Message,
    Mode,
    Priority,
    Role,
    Source,
    StaffUser,
    Tenant,
    WidgetLook,
    response_promise,
    website_agent_id,
)
from followup.services import (
    autofollowup,
    capture,
    chat_identity,
    customer_login,
    followups,
    idempotency,
    messages,
    senders,
    sms_sends,
    widget_identity,
    widget_look,
)
from followup.services.prefill import prefill_for, visitor_from_website
from followup.services.queries import commit_keeping_new, for_locking, locked_read, row_id
from followup.services.validation import clean_text, problem
from followup.services.visitors import Visit

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4000
DEFAULT_AGENT_NAME = "Alex"
CAPTURE_CLOSED = mark("Sorry, I can't pass requests to our team at the moment.")
# Above the web chat's form: what happens next. The form itself says when the team
# answers, so no sentence around it repeats that.
FORM_LEAD = mark("Leave your details below and the team will get back to you.")
SESSION_SALT = "widget-session"
# A stream waiting for the answer another stream is writing looks for it this often,
# and says it is still there (to proxies that end quiet connections) every so many looks.
FOLLOW_POLL_S = 0.2
FOLLOW_KEEPALIVE_POLLS = 75
# The stream answering a message may be taken over once its claim is this old (its
# process died mid-answer): at least this, and longer than LLM_TIMEOUT_S thrice, since
# that bounds each wait for the model's next bytes, not a whole answer.
MIN_ANSWER_LEASE_S = 90.0


class FollowupsDisabled(DomainError):
    code = "followups_disabled"
    http_status = 409

    def __init__(self) -> None:
        super().__init__(mark("Follow-up requests are turned off for this business."))


def tenant_for_widget(public_key: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.widget_public_key == public_key))
    if tenant is None:
        raise NotFound(mark("Unknown widget key."))
    note_tenant(tenant.id)
    return tenant


def _widget_agent_query(tenant: Tenant, *columns):
    return select(*columns).where(Agent.id == website_agent_id(tenant.id))


# A new chat's business and employee, in one query: every website visitor's first request
# opens a chat.
# The business's own greeting comes in the same read: every chat opened starts with it.
_TENANT_AND_WIDGET_AGENT = (
    select(Tenant, Agent, WidgetLook.greeting)
    .outerjoin(WidgetLook, WidgetLook.tenant_id == Tenant.id)
    .outerjoin(Agent, Agent.id == website_agent_id(Tenant.id))
    .where(Tenant.widget_public_key == bindparam("public_key"))
)


def _tenant_and_widget_agent(public_key: str) -> tuple[Tenant, Agent, str | None]:
    """The business of this widget key, the employee that answers its website chat (a
    first one is created on first use) and the business's own greeting, if any."""
    found = db.session.execute(_TENANT_AND_WIDGET_AGENT, {"public_key": public_key}).first()
    if found is None:
        raise NotFound(mark("Unknown widget key."))
    tenant, agent, own_greeting = found
    if agent is None:
        agent = Agent(tenant_id=tenant.id, name=DEFAULT_AGENT_NAME, serves_web_widget=True)
        db.session.add(agent)
    return tenant, agent, own_greeting


def web_widget_agent_name(tenant: Tenant) -> str:
    """The name the website chat's employee has, or will have once created: a read only,
    for the widget's configuration, which every page view of the host site asks for."""
    name = db.session.scalar(_widget_agent_query(tenant, Agent.name))
    return name or DEFAULT_AGENT_NAME


class Presence(StrEnum):
    """Who answers the website chat, as its header tells the visitor."""

    AI = "ai"  # the AI employee, at once
    FOLLOW_UP = "follow_up"  # nobody at once: the form brings the team back in time
    TEAM = "team"  # nobody at once, no follow-ups: the team reads the chat and replies there


def widget_presence(tenant: Tenant) -> Presence:
    """The truth for the header. The website chat always has an AI employee (see
    `_tenant_and_widget_agent`), so it answers whenever a model is configured; when the model
    fails mid-chat the answer says so and offers the form."""
    return Presence.AI if is_configured() else offline_presence(tenant)


def offline_presence(tenant: Tenant) -> Presence:
    """Who answers when the AI cannot: the team, through the form or in the chat."""
    return Presence.FOLLOW_UP if tenant.followups_enabled else Presence.TEAM


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SESSION_SALT)


def session_token(chat: Chat) -> str:
    """A signed token that lets its holder, and only its holder, use this chat while
    the chat is in use (`_session_lapsed`). By `row_id`: the chat was just committed,
    and `.id` would read it all again for its id."""
    return _serializer().dumps({"chat": row_id(chat)})


def _session_lapsed(chat: Chat) -> bool:
    """No message from the customer for WIDGET_SESSION_MAX_AGE_DAYS: the token no longer
    opens the chat (one copied from a shared computer does not open it for ever), and
    the widget starts a new chat. Counted from the chat itself, not from the token, so
    a conversation in use stays open however old it is."""
    last_seen = chat.last_client_message_at or chat.created_at
    return utcnow() - last_seen > timedelta(days=current_app.config["WIDGET_SESSION_MAX_AGE_DAYS"])


# The statements of a turn's lookups are built once, at import: building one costs
# about a third of running it on SQLite, and every turn runs these before the model.
_CHAT_TENANT_AND_AGENT = (
    select(Chat, Tenant, Agent)
    .join(Tenant, Tenant.id == Chat.tenant_id)
    .join(Agent, Agent.id == Chat.agent_id)
    .where(Chat.id == bindparam("chat_id"))
)
_LOCKED_CHAT_TENANT_AND_AGENT = for_locking(_CHAT_TENANT_AND_AGENT, Chat)
_MESSAGES_AFTER = (
    select(Message)
    .where(Message.chat_id == bindparam("chat_id"), Message.id > bindparam("after_id"))
    .order_by(Message.id)
)
# What an answer reads of the history: plain rows, no entities to build before the model.
_LINES = _MESSAGES_AFTER.with_only_columns(Message.id, Message.role, Message.content, Message.mode)


def chat_for_session(token: str | None, chat_id: int) -> tuple[Chat, Tenant, Agent]:
    """The chat a session token opens, its business and its agent (one query, all an
    answer needs: see `chat_for_turn`); 404 otherwise."""
    try:
        claims = _serializer().loads(token or "")
    except BadSignature:
        raise NotFound(mark("No such chat.")) from None
    found = None
    if isinstance(claims, dict) and claims.get("chat") == chat_id:
        found = db.session.execute(_CHAT_TENANT_AND_AGENT, {"chat_id": chat_id}).first()
    if found is None or _session_lapsed(found[0]):
        raise NotFound(mark("No such chat."))
    chat, tenant, agent = found
    return chat, tenant, agent


class OpenedChat(NamedTuple):
    """A chat just opened for a website visitor."""

    chat: Chat
    token: str  # its session token
    # Read before the commit expired the business: the answer's CORS headers need them,
    # and reading them again would cost a transaction per chat opened.
    allowed_origins: tuple[str, ...]


def start_chat(public_key: str, customer: object = None, visit: Visit | None = None) -> OpenedChat:
    """Open a chat for a website visitor. `visit`: where the browser says it started."""
    visit = visit or Visit()
    tenant, agent, own_greeting = _tenant_and_widget_agent(public_key)
    visitor = visitor_from_website(tenant, customer)
    widget_identity.require_verified(tenant, visitor)
    chat = Chat(
        tenant_id=tenant.id,
        agent=agent,
        channel=Channel.WEB,
        # Signed in as the website's customer of that id, when the website signed it.
        customer=customer_login.website_customer(tenant.id, visitor),
        visitor=visitor,
        # Nameless: the chat is shown by its label ("Visitor 4F2A").
        title=visitor.get("name") or visitor.get("email") or "",
        page_url=visit.page_url,
        referrer=visit.referrer,
        language=visit.language,
        device=visit.device,
        locale=visit.locale_for(tenant),
    )
    db.session.add(chat)
    look = widget_look.Look(greeting=own_greeting)
    with in_language(chat.locale):  # the business's default too, when nobody asked
        messages.append(chat, Role.AGENT, widget_look.greeting_text(look, agent.name, tenant.name))
    allowed_origins = tuple(tenant.allowed_origins or ())
    db.session.commit()
    return OpenedChat(chat, session_token(chat), allowed_origins)


def history(chat: Chat) -> list[Message]:
    return messages_after(chat, 0)


def messages_after(chat: Chat, after_id: int) -> list[Message]:
    return list(db.session.scalars(_MESSAGES_AFTER, {"chat_id": chat.id, "after_id": after_id}))


def _add_message(
    chat: Chat, role: Role, content: str, *, answers_up_to: int | None = None, **fields
) -> Message:
    """A message added and committed (returned as saved, read without a query); an
    answer of the business (the AI's or a staff member's) starts or re-plans the
    reminder chain in the same commit."""
    message = messages.append(chat, role, content, answers_up_to=answers_up_to, **fields)
    try:
        due = autofollowup.stage_agent_reply(chat) if role in (Role.AGENT, Role.STAFF) else None
        commit_keeping_new(message)
    except IntegrityError:
        db.session.rollback()
        first = _first_answer(fields.get("reply_to_id"))
        if first is None:
            raise
        return first
    autofollowup.schedule(due)
    return message


def _first_answer(reply_to_id: int | None) -> Message | None:
    """Two streams answered one message (one took the turn over from the other, thought
    dead): the answer saved first stands, the other is dropped."""
    if reply_to_id is None:
        return None
    log.warning("Message %s was answered twice; the first answer stands", reply_to_id)
    return _answer_to(reply_to_id)


def _stage_client_message(chat: Chat, text: object, mode: object, **fields) -> Message:
    content = clean_text(text, "text", mark("Message"), required=True, max_length=MAX_MESSAGE_CHARS)
    if mode not in tuple(Mode):
        raise ValidationFailed({"mode": problem(mark("Mode"), mark("use text or voice."))})
    return messages.append(chat, Role.CLIENT, content, mode=mode, **fields)


def post_client_message(chat: Chat, text: object, mode: object = Mode.TEXT) -> Message:
    message = _stage_client_message(chat, text, mode)
    db.session.commit()
    return message


def take_client_message(
    chat: Chat, text: object, mode: object = Mode.TEXT
) -> tuple[Message, Iterator[TextDelta | Message]]:
    """The client's message saved and the agent's turn begun, in one transaction: the
    path of a streamed answer, where every round trip before the model is asked is
    time to the first token. Returns the message and the answer's events, as
    `agent_turn` yields them; the model is asked when they are iterated. The message
    is claimed as it is saved (see `answer_message`): this turn is its one answer. It
    is returned as saved, read without a query until the answer's commit."""
    message = _stage_client_message(chat, text, mode, answer_claimed_at=utcnow())
    try:
        db.session.flush()  # the message's id, for its answer
        begun = _begin_turn(chat, message.id)
    except Exception:
        _keep_client_message(message, chat, text, mode)
        raise
    commit_keeping_new(message)
    return message, _answer(begun)


def _keep_client_message(message: Message, chat: Chat, text: object, mode: object) -> None:
    """The turn failed before its commit: the customer's words are saved on their own
    (never lose a lead), unless a commit inside the turn saved them already."""
    db.session.rollback()
    if inspect(message).transient:  # rolled back with the turn
        post_client_message(chat, text, mode)


class CustomerOptedOut(DomainError):
    code = "opted_out"
    http_status = 409

    def __init__(self) -> None:
        super().__init__(
            staff_gettext(
                "The customer texted STOP: nothing more can be sent to them in this chat."
            )
        )


def post_staff_reply(chat: Chat, staff_user: StaffUser, text: object) -> Message:
    """A staff member answers in the chat (human takeover): saved, then sent on the chat's
    channel. For STAFF_TAKEOVER_MINUTES afterwards no reminder goes out."""
    if staff_user.tenant_id != chat.tenant_id:
        raise NotFound(mark("No such chat."))
    content = clean_text(
        text, "text", staff_text("Reply as staff"), required=True, max_length=MAX_MESSAGE_CHARS
    )
    if chat.channel == Channel.SMS and chat.opted_out:
        raise CustomerOptedOut()
    # Signed: the widget shows "Anna · Acme team" above it (services/senders.py).
    message = _add_message(chat, Role.STAFF, content, action=senders.staff_author(staff_user))
    deliver_message(chat, message)
    return message


def deliver_message(chat: Chat, message: Message) -> None:
    """Send a saved message on the chat's channel now (web: the widget fetches it). Its
    SMS delivery was saved with it (`sms_sends`): a failure that may pass is retried
    from the database, a lasting one is noted for staff."""
    if chat.channel == Channel.SMS:
        sms_sends.send(message.id)


def followup_form_action(
    chat: Chat, tenant: Tenant, arguments: dict | None = None, past: list[Message] | None = None
) -> dict:
    """The inline form the chat shows: pre-filled contact details plus the AI's reason.
    `past`: the chat's history when the caller has just read it."""
    arguments = arguments or {}
    prefill = prefill_for(chat, history(chat) if past is None else past)
    priority = Priority.HIGH if arguments.get("priority") == Priority.HIGH else Priority.NORMAL
    return {
        "type": ActionType.FOLLOWUP_FORM,
        "prefill": prefill.form_values() | {"reason": str(arguments.get("reason") or "")[:2000]},
        "summary": str(arguments.get("summary") or "")[:4000] or None,
        "priority": priority,
        "response_time_hours": tenant.response_time_hours,
    }


def _fallback_text(tenant: Tenant, by_form: bool = True) -> str:
    text = gettext("Sorry, I can't answer right now.")
    if not tenant.followups_enabled:
        return text
    if by_form:  # the form below says when the team answers
        return f"{text} {gettext(FORM_LEAD)}"
    instead = gettext("Our team can get back to you instead.")
    return f"{text} {instead} {response_promise(tenant)}"


def _fallback(chat: Chat, tenant: Tenant, reason: str, turn: "_ModelTurn") -> Message:
    """Never lose a lead: say so plainly and offer the follow-up: the contact form, or
    where none can be shown (SMS) the same details asked for in conversation, starting
    from the customer's unanswered text as the reason."""
    log.warning("LLM unavailable for chat %s: %s", chat.id, reason)
    # Marked, so the reports count the model's failures that fell back to the form.
    answer = {
        "reply_to_id": turn.reply_to_id,
        "answers_up_to": turn.answers_up_to,
        "model_failed": True,
    }
    if not tenant.followups_enabled:
        return _add_message(chat, Role.AGENT, _fallback_text(tenant), **answer)
    style = capture.style_for(chat)
    if style is None:
        action = followup_form_action(chat, tenant)
        return _add_message(chat, Role.AGENT, _fallback_text(tenant), action=action, **answer)
    past = history(chat)  # read again: the turn's copy expired at its commit
    unanswered = past[-1]
    arguments = {"reason": unanswered.content if unanswered.role == Role.CLIENT else ""}
    form = followup_form_action(chat, tenant, arguments, past)
    text = capture.begin(chat, style, form, lead=_fallback_text(tenant, by_form=False))
    return _add_message(chat, Role.AGENT, text, mode=style.mode, **answer)


def _finish_turn(chat: Chat, tenant: Tenant, completion: Completion, turn: "_ModelTurn") -> Message:
    mode = turn.mode
    offer = next((c for c in completion.tool_calls if c.name == prompts.FOLLOWUP_TOOL_NAME), None)
    text = completion.text.strip()
    action = None
    if offer is not None and tenant.followups_enabled:
        form = followup_form_action(chat, tenant, offer.arguments)
        style = capture.style_for(chat, mode)
        if style is None:
            action = form
            text = prompts.without_promise(text) or gettext(FORM_LEAD)
        else:  # no form on this channel: our code asks for the details
            text = capture.begin(chat, style, form, lead=text or response_promise(tenant))
    return _add_message(
        chat,
        Role.AGENT,
        text,
        mode=mode,
        action=action,
        model=completion.model,
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        reply_to_id=turn.reply_to_id,
        answers_up_to=turn.answers_up_to,
    )


def chat_for_turn(chat_id: int) -> tuple[Chat, Tenant, Agent]:
    """The chat, its business and its agent in one query: what an answer reads. Plain
    entities, not an eager-loaded relationship: `chat.agent` then finds its agent in
    the session without a query. Keep all three while the turn runs: the session
    holds them weakly."""
    chat, tenant, agent = db.session.execute(_CHAT_TENANT_AND_AGENT, {"chat_id": chat_id}).one()
    return chat, tenant, agent


def _chat_to_answer(chat_id: int) -> tuple[Chat, Tenant, Agent]:
    """`chat_for_turn` once the model has answered: the chat locked until the answer's
    commit, which plans its reminder on it (`autofollowup.stage_agent_reply`)."""
    ((chat, tenant, agent),) = locked_read(
        _LOCKED_CHAT_TENANT_AND_AGENT, {"chat_id": chat_id}, Chat, chat_id, Chat.chain_cycle
    )
    return chat, tenant, agent


@dataclass(frozen=True)
class _ModelTurn:
    """What the model is asked, read before the transaction ends: the answer needs the
    database again only once the model has finished."""

    chat_id: int
    mode: str
    conversation: list[dict]
    tools: list[dict] | None
    reply_to_id: int | None  # the client message answered (`answer_message`), if named
    answers_up_to: int | None  # the last client message read: the answer settles up to it


def _begin_turn(chat: Chat, reply_to_id: int | None = None) -> Message | _ModelTurn | None:
    """The agent's turn up to asking the model: nothing during a human takeover; the
    next question of a capture (our code answers there, not the model); or what to ask.
    `reply_to_id`: the client message the answer will name as the one it answers."""
    if autofollowup.staff_in_charge(chat):
        return None
    tenant = db.session.get(Tenant, chat.tenant_id)
    past = db.session.execute(_LINES, {"chat_id": chat.id, "after_id": 0}).all()
    mode = past[-1].mode if past else Mode.TEXT
    read = next((line.id for line in reversed(past) if line.role == Role.CLIENT), None)
    # Locked, then checked again: two answers read at once (a text sent twice) must not
    # both submit the request. (The widget's turn holds the lock already.)
    if capture.capturing(chat) and capture.capturing(autofollowup.lock_chat(chat)):
        return _capture_turn(chat, tenant, past[-1].content, reply_to_id, read)
    conversation = prompts.conversation(
        chat.agent, tenant, past, capture.style_for(chat, mode), chat.locale
    )
    return _ModelTurn(chat.id, mode, conversation, prompts.tools_for(tenant), reply_to_id, read)


def _answer(begun: Message | _ModelTurn | None) -> Iterator[TextDelta | Message]:
    """The rest of a turn `_begin_turn` began, after its commit: the model's text as it
    streams, then the saved answer (or the plain fallback when the model fails)."""
    if begun is None:
        return
    if isinstance(begun, Message):
        # Read again: the session that saved it may be gone by now (a streamed turn's
        # view session ends before the stream is read).
        yield db.session.get(Message, row_id(begun))
        return
    completion = None
    try:
        for event in stream_chat(begun.conversation, begun.tools):
            if isinstance(event, Completion):
                completion = event
            else:
                yield event
    except LLMUnavailable as exc:
        chat, tenant, _agent = _chat_to_answer(begun.chat_id)
        yield _fallback(chat, tenant, str(exc), begun)
        return
    chat, tenant, _agent = _chat_to_answer(begun.chat_id)
    yield _finish_turn(chat, tenant, completion, begun)


def agent_turn(chat: Chat, reply_to_id: int | None = None) -> Iterator[TextDelta | Message]:
    """The agent answers the chat: text pieces as they stream, then the saved message.

    Nothing at all during a human takeover (PRODUCT.md: while a staff member has
    replied in the last STAFF_TAKEOVER_MINUTES the AI does not answer), on every
    channel: the client's message waits for the staff member, who sees it in the chat."""
    begun = _begin_turn(chat, reply_to_id)
    # Give the connection back while the model thinks: a stream can take many
    # seconds, and holding a pooled connection for each would cap concurrent chats.
    db.session.commit()
    yield from _answer(begun)


class AnswerPending:
    """Another stream is writing the answer: it comes whole once saved. Said again
    every FOLLOW_KEEPALIVE_POLLS looks, so a stream can show it is alive."""


_ANSWER = aliased(Message)
_ANSWER_TO = select(_ANSWER).where(_ANSWER.reply_to_id == bindparam("message_id"))


# The claim on a client message and its answer, if saved.
_CLAIM_AND_ANSWER = (
    select(Message.answer_claimed_at, _ANSWER)
    .outerjoin(_ANSWER, _ANSWER.reply_to_id == Message.id)
    .where(
        Message.id == bindparam("message_id"),
        Message.chat_id == bindparam("chat_id"),
        Message.role == Role.CLIENT,
    )
)


def _answer_to(message_id: int) -> Message | None:
    return db.session.scalar(_ANSWER_TO, {"message_id": message_id})


def _answer_lease() -> timedelta:
    return timedelta(seconds=max(MIN_ANSWER_LEASE_S, 3 * current_app.config["LLM_TIMEOUT_S"]))


def _claim_answer(chat_id: int, message_id: int) -> bool:
    """Take the turn of answering this client message, in one statement: unanswered,
    and nobody's claim or one older than the lease. Of streams that try at once, one
    wins (PostgreSQL re-checks the row the winner updated; SQLite writes one at a time)."""
    now = utcnow()
    claimed = db.session.execute(
        update(Message)
        .where(
            Message.id == message_id,
            Message.chat_id == chat_id,
            Message.role == Role.CLIENT,
            or_(
                Message.answer_claimed_at.is_(None),
                Message.answer_claimed_at < now - _answer_lease(),
            ),
            ~exists().where(_ANSWER.reply_to_id == Message.id),
        )
        .values(answer_claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def _renew_answer_claim(message_id: int) -> datetime:
    """The writer is alive: its claim starts again now. On a connection of its own, beside
    the turn's session, which holds none while the model writes."""
    now = utcnow()
    with db.engine.begin() as connection:
        connection.execute(
            update(Message.__table__)
            .where(Message.__table__.c.id == message_id)
            .values(answer_claimed_at=now)
        )
    return now


def _release_answer_claim(message_id: int) -> None:
    """The turn ended without an answer (a staff member is in charge, or it failed):
    the next stream may take it at once rather than after the lease."""
    try:
        db.session.rollback()
        db.session.execute(
            update(Message).where(Message.id == message_id).values(answer_claimed_at=None)
        )
        db.session.commit()
    except SQLAlchemyError:
        log.warning("Could not release the answer claim of message %s", message_id)
        db.session.rollback()


def answer_message(chat: Chat, message_id: int) -> Iterator[TextDelta | Message | AnswerPending]:
    """The one answer to this client message, however many streams ask for it (reconnects,
    two tabs): the stream that claims the turn writes it (`agent_turn`'s events); any
    other waits for that saved answer (`AnswerPending` meanwhile) and gets it whole,
    and takes the turn over if its writer died. Nothing while a staff member is in charge."""
    chat_id = row_id(chat)
    polls = 0
    while not _claim_answer(chat_id, message_id):
        found = db.session.execute(
            _CLAIM_AND_ANSWER, {"chat_id": chat_id, "message_id": message_id}
        ).first()
        db.session.commit()  # no connection held while waiting
        if found is None:  # no such message of the customer's in this chat
            return
        claimed_at, answer = found
        if answer is not None:
            yield answer
            return
        if claimed_at is not None and claimed_at >= utcnow() - _answer_lease():
            if polls % FOLLOW_KEEPALIVE_POLLS == 0:
                yield AnswerPending()
            polls += 1
            time.sleep(FOLLOW_POLL_S)
    yield from _write_answer(chat, message_id)


def _write_answer(chat: Chat, message_id: int) -> Iterator[TextDelta | Message]:
    """The turn this stream claimed; given back if it ends without an answer. While the
    answer streams, the claim is renewed, so a long answer is never taken over."""
    answered = False
    renewed_at = utcnow()
    try:
        for event in agent_turn(chat, message_id):
            answered = answered or isinstance(event, Message)
            if not answered and utcnow() - renewed_at >= _answer_lease() / 3:
                renewed_at = _renew_answer_claim(message_id)
            yield event
    finally:
        if not answered:
            _release_answer_claim(message_id)


def reply(chat: Chat) -> Message | None:
    """The agent's whole answer at once (for clients that do not stream); None while a
    staff member is in charge of the chat."""
    return whole_answer(agent_turn(chat))


def whole_answer(events: Iterator[TextDelta | Message]) -> Message | None:
    """The saved answer at the end of a turn's events; None when the agent stayed silent."""
    answers = [event for event in events if isinstance(event, Message)]
    return answers[-1] if answers else None


def _latest_form(chat: Chat) -> dict:
    for message in reversed(history(chat)):
        if message.action and message.action.get("type") == ActionType.FOLLOWUP_FORM:
            return message.action
    return {}


class Submitted(NamedTuple):
    followup: FollowUpRequest
    thanks: Message | None  # the agent's thank-you in the chat


def submit_followup(
    chat: Chat, data: dict, source: Source = Source.TEXT, form_id: str | None = None
) -> Submitted:
    """The customer confirmed the form: save the request and thank them in the chat.
    With `form_id` (the form's one-time id), a form sent twice (a double click, a retry
    after a network error) saves one request and both get it, with its thank-you."""
    tenant = db.session.get(Tenant, chat.tenant_id)
    offer = _latest_form(chat)
    if form_id is None:
        return Submitted(*_submit(chat, tenant, data, source, offer))
    saved: list[Submitted] = []

    def submit(keep) -> idempotency.Answer:
        def remember(followup: FollowUpRequest) -> None:
            keep(idempotency.Answer(201, {"id": followup.id}))

        saved.append(Submitted(*_submit(chat, tenant, data, source, offer, remember)))
        return idempotency.Answer(201, {"id": saved[0].followup.id})

    fields = {k: data.get(k) for k in FOLLOWUP_FORM_FIELDS}
    answer = idempotency.once(tenant.id, f"chat:{chat.id}", form_id, fields, submit)
    if saved:
        return saved[0]
    followup = followups.get_followup(tenant.id, answer.body["id"])
    return Submitted(followup, _thanks_for(chat, followup.id))


def _thanks_for(chat: Chat, followup_id: int) -> Message | None:
    """The thank-you that confirmed this request in the chat (a form sent again)."""
    return db.session.scalar(
        select(Message)
        .where(
            Message.chat_id == chat.id,
            Message.role == Role.AGENT,
            Message.action["followup_id"].as_integer() == followup_id,
        )
        .limit(1)
    )


FOLLOWUP_FORM_FIELDS = ("name", "email", "phone", "reason")


def _submit(
    chat: Chat,
    tenant: Tenant,
    data: dict,
    source: Source,
    offer: dict,
    before_commit: Callable[[FollowUpRequest], None] | None = None,
    reply_to_id: int | None = None,
    answers_up_to: int | None = None,
) -> tuple[FollowUpRequest, Message]:
    """Save the request and thank the customer in the chat; returns both. `offer` is
    what the agent said about the request: its summary and priority; `reply_to_id` the
    client message the thanks answers, when it ends a capture."""
    if not tenant.followups_enabled:
        raise FollowupsDisabled()
    proven = chat_identity.proven_email(chat)
    website_customer = chat_identity.website_customer_of(chat)
    fields = {k: data.get(k) for k in FOLLOWUP_FORM_FIELDS}
    thanks: list[Message] = []

    def thank(followup: FollowUpRequest) -> None:
        # In the request's own commit: a repeat of the form finds both, or neither.
        chat.customer_id = chat.customer_id or followup.customer_id
        text = gettext(
            "Thank you, %(name)s! Your request has been sent to our team.", name=followup.name
        )
        action = {"type": ActionType.FOLLOWUP_CREATED, "followup_id": followup.id}
        thanks.append(
            messages.append(
                chat,
                Role.AGENT,
                f"{text} {response_promise(tenant)}",
                action=action,
                reply_to_id=reply_to_id,
                answers_up_to=answers_up_to,
            )
        )
        if before_commit is not None:
            before_commit(followup)

    followup = followups.create_followup(
        tenant.id,
        fields
        | {"summary": offer.get("summary"), "priority": offer.get("priority") or Priority.NORMAL},
        source=source,
        chat_id=chat.id,
        # Verified: the form's email is one proved in this chat, not merely claimed.
        identity_verified=bool(
            proven and str(fields["email"] or "").strip().lower() == proven.lower()
        ),
        customer_id=website_customer.id if website_customer else None,
        before_commit=thank,
    )
    autofollowup.on_agent_reply(chat)
    return followup, thanks[0]


def _capture_turn(
    chat: Chat, tenant: Tenant, answer: str, reply_to_id: int | None, answers_up_to: int | None
) -> Message:
    """While a follow-up is captured in conversation (voice, SMS), our code, not the
    model, runs the dialogue; the customer's final yes submits the request."""
    style = capture.style_of(chat)
    said = {"mode": style.mode, "reply_to_id": reply_to_id, "answers_up_to": answers_up_to}
    if not tenant.followups_enabled:  # turned off while the customer was answering
        capture.finish(chat)
        return _add_message(chat, Role.AGENT, gettext(CAPTURE_CLOSED), **said)
    step = capture.next_step(chat, answer)
    if step.submit is None:
        return _add_message(chat, Role.AGENT, step.say, **said)
    progress = chat.followup_capture
    # Ended in the request's own commit: a yes read twice cannot submit it twice.
    capture.finish(chat)
    try:
        _followup, thanks = _submit(
            chat,
            tenant,
            step.submit,
            style.source,
            step.offer,
            reply_to_id=reply_to_id,
            answers_up_to=answers_up_to,
        )
    except ValidationFailed as exc:  # refused before anything was saved
        chat.followup_capture = progress
        field, problem = next(iter(exc.fields.items()))
        text = capture.ask_again(chat, field, problem)
        return _add_message(chat, Role.AGENT, text, **said)
    return thanks
