"""The agent's answer as Server-Sent Events, each piece sent the moment the model writes it.

Events, in this order:

    event: token    data: {"text": "..."}                     one per piece of text
    event: message  data: {id, role, content, mode, created_at, action}   the saved answer
    event: done     data: {"messages": [...], "actions": [...]}   the turn, as without streaming

While a staff member is in charge of the chat (human takeover) the AI does not
answer: no `token` or `message`, and `done` carries the customer's message alone;
the staff member's reply comes by polling, like any message nobody typed here.

If something breaks after the stream has begun (the status is already sent), an
`event: error` with `{"error": {"code", "message"}}` ends the stream instead.
"""

import json
from collections.abc import Iterator

from flask import Response, request
from flask_babel import gettext

from followup.llm.client import TextDelta
from followup.locales import mark
from followup.models import Message
from followup.web.chat_session import EVENT_STREAM, event_stream, relay_turn, sse
from followup.web.widget_api.serialize import message_json, turn_json

_FAILED = mark("Something went wrong on our side.")


def wants_event_stream() -> bool:
    # Checked by name: `*/*` would otherwise count as asking for a stream.
    return any(
        mimetype == EVENT_STREAM and quality > 0 for mimetype, quality in request.accept_mimetypes
    )


def _event(name: str, data: dict) -> bytes:
    return sse(name, json.dumps(data, separators=(",", ":")))


class _TurnEvents:
    """The turn as CONTRACT.md describes it: `token`s, the `message`, then `done`."""

    def __init__(self, client_message: dict):
        self.client_message = client_message

    def delta(self, text: str) -> bytes:
        return _event("token", {"text": text})

    def end(self, answer: Message | None) -> Iterator[bytes]:
        if answer is not None:
            yield _event("message", message_json(answer))
        yield _event("done", turn_json(self.client_message, answer))

    def failed(self) -> bytes:
        return _event("error", {"error": {"code": "internal_error", "message": gettext(_FAILED)}})


def turn_stream(
    chat_id: int, client_message: dict, answer: Iterator[TextDelta | Message]
) -> Response:
    """The events of `answer` (from `chats.take_client_message`, whose message is
    `client_message`, as `message_json`) as the model writes it. The turn was claimed
    with the message: if the client leaves, it is finished all the same."""
    events = relay_turn(answer, chat_id, _TurnEvents(client_message), owns_turn=True)
    return event_stream(events, cache_control="no-cache")
