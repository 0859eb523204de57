"""Who may use a chat from the widget page: session tokens, reply-stream tokens, logged-in state.

The page lives in a third-party iframe, where browsers partition or block cookies,
so it never relies on the Flask session: its script keeps the chat's session
token and sends it as `Authorization: Bearer …`. EventSource cannot send headers,
so a reply stream is opened with a short-lived token of its own in the URL,
bound to one chat and one customer message.
"""

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from followup.errors import NotFound
from followup.locales import mark
from followup.models import Chat
from followup.services import chat_identity
from followup.web.requests import bound_body
from followup.web.widget import bp

# Enough for any form of the widget; a chat message is at most 4,000 characters.
MAX_BODY_BYTES = 32 * 1024
STREAM_SALT = "widget-reply-stream"
# The page opens the stream right after posting the message; a minute is plenty.
STREAM_TOKEN_MAX_AGE_S = 60


bound_body(bp, MAX_BODY_BYTES)


def _stream_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=STREAM_SALT)


def stream_token(public_key: str, chat: Chat, message_id: int) -> str:
    return _stream_serializer().dumps({"key": public_key, "chat": chat.id, "message": message_id})


def stream_message_id(public_key: str, chat_id: int, token: str | None) -> int:
    """The customer message a reply-stream token was issued for (404 otherwise).

    No query: the token is only issued once the session token has opened this chat
    through this widget, and it says so, signed; the stream reads the chat itself."""
    try:
        claims = _stream_serializer().loads(token or "", max_age=STREAM_TOKEN_MAX_AGE_S)
    except BadSignature:  # also SignatureExpired
        raise NotFound(mark("This reply link has expired.")) from None
    if not isinstance(claims, dict) or (claims.get("key"), claims.get("chat")) != (
        public_key,
        chat_id,
    ):
        raise NotFound(mark("No such chat."))
    return int(claims["message"])


def customer_signed_in(chat: Chat) -> bool:
    return chat_identity.signed_in_customer(chat) is not None
