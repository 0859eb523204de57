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
import logging
from collections.abc import Iterator

from flask import Response, request, stream_with_context

from followup.extensions import db
from followup.llm.client import TextDelta
from followup.models import Message
from followup.web.widget_api.serialize import message_json, turn_json

log = logging.getLogger(__name__)

EVENT_STREAM = "text/event-stream"
# Proxies (nginx) must pass each event on at once rather than buffer the answer.
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def wants_event_stream() -> bool:
    # Checked by name: `*/*` would otherwise count as asking for a stream.
    return any(
        mimetype == EVENT_STREAM and quality > 0 for mimetype, quality in request.accept_mimetypes
    )


def sse(event: str, data: dict) -> bytes:
    # JSON never contains a raw newline, so one `data:` line always holds it.
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def turn_stream(
    chat_id: int, client_message: dict, answer: Iterator[TextDelta | Message]
) -> Response:
    """The events of `answer` (from `chats.take_client_message`, whose message is
    `client_message`, as `message_json`) as the model writes it."""
    events = stream_with_context(_turn_events(chat_id, client_message, answer))
    return Response(events, mimetype=EVENT_STREAM, headers=STREAM_HEADERS)


def _turn_events(
    chat_id: int, client_message: dict, turn: Iterator[TextDelta | Message]
) -> Iterator[bytes]:
    agent_message = None
    try:
        for event in turn:
            if isinstance(event, TextDelta):
                yield sse("token", {"text": event.text})
            else:
                agent_message = event
        if agent_message is not None:
            yield sse("message", message_json(agent_message))
        yield sse("done", turn_json(client_message, agent_message))
    except GeneratorExit:
        _finish_unwatched(turn, chat_id)
        raise
    except Exception:
        log.exception("Streaming the agent's answer in chat %s failed", chat_id)
        db.session.rollback()
        yield sse(
            "error",
            {"error": {"code": "internal_error", "message": "Something went wrong on our side."}},
        )


def _finish_unwatched(turn: Iterator, chat_id: int) -> None:
    """The visitor left mid-answer: finish the turn anyway, so the answer (and any form
    it offers) is in the chat's history when they come back, and no transaction is
    left half done."""
    try:
        for _event in turn:
            pass
    except Exception:
        log.exception("Finishing the answer in chat %s after its client left failed", chat_id)
        db.session.rollback()
