"""What both widget surfaces share: the chat a session token opens, the `after` rule,
and a turn streamed as Server-Sent Events.

The chat page in the iframe (`web.widget`, HTML partials) and the JSON client API
(`web.widget_api`) serve the same visitor chats; each writes its own events and
bodies, on these rules.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from flask import Response, request, stream_with_context

from followup.errors import NotFound, ValidationFailed
from followup.extensions import db
from followup.llm.client import TextDelta
from followup.locales import mark
from followup.logs import note_tenant
from followup.models import Agent, Chat, Message, Tenant
from followup.services import chats, widget_identity
from followup.services.queries import MAX_ID
from followup.services.validation import whole_number
from followup.web.locale import use_locale
from followup.web.requests import bearer_token

log = logging.getLogger(__name__)

# Kept in the WSGI environ, not on `g`: a rate-limit key needs the chat before the
# view runs, and `g` outlives a request when tests share an app context.
_ENVIRON_KEY = "followup.widget_chat"


@dataclass(frozen=True)
class ChatSession:
    """What a valid session token opened in this request."""

    chat: Chat
    # Held so the session keeps them (it holds objects weakly): an answer reads both,
    # and loading them again would cost a query before the first token.
    tenant: Tenant
    agent: Agent
    # Read while the tenant is loaded: CORS answers after the view's commit expired it,
    # and reading them again would cost a query before the response starts.
    allowed_origins: tuple[str, ...]


def opened_chat(chat_id: int) -> ChatSession | None:
    """What the request's session token opens, if anything; looked up once per request."""
    if _ENVIRON_KEY not in request.environ:
        try:
            chat, tenant, agent = chats.chat_for_session(bearer_token(), chat_id)
        except NotFound:
            session = None
        else:
            session = ChatSession(chat, tenant, agent, tuple(tenant.allowed_origins or ()))
            note_tenant(tenant.id)
        request.environ[_ENVIRON_KEY] = session
    return request.environ[_ENVIRON_KEY]


def session_chat(chat_id: int, public_key: str | None = None) -> tuple[Tenant, Chat]:
    """The business and the chat the request's session token opens (404 otherwise).
    Through a widget (`public_key`), only a chat of that widget's business: a token of
    one business's chat must not open it through another's widget."""
    session = opened_chat(chat_id)
    if session is None or public_key not in (None, session.tenant.widget_public_key):
        raise NotFound(mark("No such chat."))
    use_locale(session.chat.locale)  # the rest of the request speaks the visitor's language
    # A chat begun before the business required a verified identity stops with the rule.
    widget_identity.require_verified(session.tenant, session.chat.visitor or {})
    return session.tenant, session.chat


def checked_session() -> ChatSession | None:
    """The session this request's token opened, once `opened_chat` has looked."""
    return request.environ.get(_ENVIRON_KEY)


def after_id(raw: str | None) -> int:
    """The newest message a client has (`after`): what it wants comes after it. None or
    empty: it has none."""
    if raw in (None, ""):
        return 0
    after = whole_number(raw, MAX_ID)
    if after is None:
        raise ValidationFailed({"after": "Use the id of a message (a whole number), or 0."})
    return after


# --- a turn as Server-Sent Events ------------------------------------------------------------

EVENT_STREAM = "text/event-stream"
# An SSE comment: browsers ignore it; proxies see a connection that is still in use.
KEEPALIVE = b": waiting for the answer\n\n"


def sse(event: str, data: str) -> bytes:
    """One server-sent event; every line of the data gets its own `data:` field."""
    lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return (f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n").encode()


def event_stream(events: Iterator[bytes], cache_control: str) -> Response:
    """A streamed answer; proxies (nginx) must pass each event on at once, not buffer it."""
    return Response(
        stream_with_context(events),
        mimetype=EVENT_STREAM,
        headers={"Cache-Control": cache_control, "X-Accel-Buffering": "no"},
    )


class TurnEvents(Protocol):
    """How a surface writes a turn: its own event names and bodies."""

    def delta(self, text: str) -> bytes:
        """A piece of the answer, the moment the model writes it."""

    def end(self, answer: Message | None) -> Iterator[bytes]:
        """The saved answer (None: the agent stayed silent, a staff member is in charge)."""

    def failed(self) -> bytes:
        """The turn broke after the stream began (its status is sent already)."""


def relay_turn(
    turn: Iterator, chat_id: int, events: TurnEvents, *, owns_turn: bool
) -> Iterator[bytes]:
    """A turn's events (`chats.take_client_message` or `chats.answer_message`) as the
    surface writes them. `owns_turn`: the turn was claimed for this stream before it
    began; otherwise this stream writes the answer only once the model's text comes
    (meanwhile another stream may be writing it: KEEPALIVE)."""
    answer = None
    writing = False
    try:
        for event in turn:
            if isinstance(event, TextDelta):
                writing = True
                yield events.delta(event.text)
            elif isinstance(event, Message):
                answer = event
            else:  # chats.AnswerPending
                yield KEEPALIVE
        yield from events.end(answer)
    except GeneratorExit:
        if owns_turn or writing:
            finish_unwatched(turn, chat_id)
        turn.close()  # a turn not begun here is given back, for the next stream to take
        raise
    except Exception:
        log.exception("Streaming the answer in chat %s failed", chat_id)
        failure = events.failed()
        db.session.rollback()
        yield failure


def finish_unwatched(turn: Iterator, chat_id: int) -> None:
    """The visitor left mid-answer (reload, closed tab): finish the turn anyway, so the
    answer (and any form it offers) is in the chat's history when they come back, and
    no transaction is left half done."""
    try:
        for _event in turn:
            pass
    except Exception:
        log.exception("Finishing the answer in chat %s after its client left failed", chat_id)
        db.session.rollback()
