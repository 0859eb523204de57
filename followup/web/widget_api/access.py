"""Who may use a chat, and what a request may send: the session token, body size and fields."""

from flask import Response, make_response, request

from followup.errors import ValidationFailed
from followup.models import Chat
from followup.services.validation import UNKNOWN_FIELD, problem
from followup.services.voice_audio import RECORDING
from followup.web.chat_session import checked_session, opened_chat, session_chat
from followup.web.errors import error_response
from followup.web.requests import bearer_token, bound_body, json_object
from followup.web.widget_api import bp

# The longest message (chats.MAX_MESSAGE_CHARS) still fits when a client escapes
# every character as JSON \\uXXXX pairs; anything bigger is not a chat message.
MAX_BODY_BYTES = 64 * 1024
# The origins of a chat this request opened (no token yet): see `session_origins`.
_OPENED_KEY = "followup.widget_chat_opened"


class MissingSessionToken(Exception):
    """The request names a chat but sends no session token at all."""


bound_body(bp, MAX_BODY_BYTES)


@bp.errorhandler(MissingSessionToken)
def missing_session_token(_exc: MissingSessionToken) -> Response:
    # 401 rather than 404 tells an integrator what is missing; a token that is
    # present but wrong stays a 404, so nobody learns which chats exist.
    response = make_response(
        error_response(
            401,
            "unauthorized",
            "Send the chat's session token in the header 'Authorization: Bearer <token>'.",
        )
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="followup-widget"'
    return response


def session_chat_id() -> int | None:
    """The id of the chat this request is entitled to, if any (for rate-limit keys)."""
    chat_id = (request.view_args or {}).get("chat_id")
    if chat_id is None:
        return None
    session = opened_chat(chat_id)
    return session.chat.id if session is not None else None


def authorized_chat(chat_id: int) -> Chat:
    """The chat the request's session token opens; 401 without a token, 404 otherwise."""
    if bearer_token() is None:
        raise MissingSessionToken()
    _tenant, chat = session_chat(chat_id)
    return chat


def opened_session(allowed_origins: tuple[str, ...]) -> None:
    """This request opened a chat of a business allowing these origins."""
    request.environ[_OPENED_KEY] = allowed_origins


def session_origins() -> tuple[str, ...] | None:
    """The allowed origins of the chat's business, when this request's token opened it
    or the request opened the chat."""
    session = checked_session()
    if session is not None:
        return session.allowed_origins
    return request.environ.get(_OPENED_KEY)


# Room for the multipart envelope around the largest recording.
_MULTIPART_OVERHEAD_BYTES = 16 * 1024


def uploaded_audio(max_bytes: int) -> tuple[bytes, str | None]:
    """The recording sent as the multipart field `audio`, and its type. Larger than the
    rest of the API allows, so the body's bound is raised for this request alone; a
    body far over `max_bytes` is refused (413) before it is read."""
    request.max_content_length = max_bytes + _MULTIPART_OVERHEAD_BYTES
    upload = request.files.get("audio")
    if upload is None:
        advice = "send it as the multipart form field 'audio'."  # for developers: English
        raise ValidationFailed({"audio": problem(RECORDING, advice)})
    return upload.read(max_bytes + 1), upload.mimetype or None


def body_with(allowed: frozenset[str], *, optional: bool = False) -> dict:
    """The JSON object sent, refusing names outside `allowed` (a misspelt field would vanish).

    With `optional`, an empty body counts as `{}`.
    """
    if optional and not request.get_data(cache=True):
        return {}
    body = json_object()
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationFailed({name: UNKNOWN_FIELD for name in unknown})
    return body
