"""What both widget surfaces share: the chat a session token opens and the `after` rule.

The chat page in the iframe (`web.widget`, HTML partials) and the JSON client API
(`web.widget_api`) serve the same visitor chats; each writes its own events and
bodies, on these rules.
"""

from dataclasses import dataclass

from flask import request

from followup.errors import NotFound, ValidationFailed
from followup.models import Agent, Chat, Tenant
from followup.services import chats
from followup.services.queries import MAX_ID
from followup.services.validation import whole_number
from followup.web.requests import bearer_token

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
        request.environ[_ENVIRON_KEY] = session
    return request.environ[_ENVIRON_KEY]


def session_chat(chat_id: int, public_key: str | None = None) -> tuple[Tenant, Chat]:
    """The business and the chat the request's session token opens (404 otherwise).
    Through a widget (`public_key`), only a chat of that widget's business: a token of
    one business's chat must not open it through another's widget."""
    session = opened_chat(chat_id)
    if session is None or public_key not in (None, session.tenant.widget_public_key):
        raise NotFound("No such chat.")
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
