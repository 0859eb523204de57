"""The conversation: start or restore a chat, send a message, stream the reply, poll for news."""

import logging
from collections.abc import Iterator

from flask import Response, request, stream_with_context, url_for
from markupsafe import escape

from followup.extensions import db
from followup.llm.client import TextDelta
from followup.models import Chat, Message, Tenant
from followup.services import chats
from followup.services.visitors import Visit
from followup.web.chat_session import after_id, session_chat
from followup.web.rate_limits import per_ip
from followup.web.requests import BadJson, BadText, parse_json
from followup.web.widget import bp
from followup.web.widget.access import stream_message_id, stream_token
from followup.web.widget.limits import per_session
from followup.web.widget.rendering import account_state, answered_forms, partial, render_piece

log = logging.getLogger(__name__)

# What the website passes as `FollowupWidget.customer` is five short strings.
MAX_CUSTOMER_JSON = 4000


def _customer_from_form() -> dict | None:
    """The website's customer data relayed by the page; unusable data means an anonymous chat.

    A visitor must always be able to chat, whatever the website's integration sends.
    """
    raw = request.form.get("customer") or ""
    if not raw or len(raw) > MAX_CUSTOMER_JSON:
        return None
    try:
        customer = parse_json(raw)
    except (BadJson, BadText):
        return None
    return customer if isinstance(customer, dict) else None


def _whole_chat(tenant: Tenant, chat: Chat, status: int = 200) -> Response:
    messages = chats.history(chat)
    return partial(
        "widget/_chat.html",
        tenant,
        chat,
        status,
        messages=messages,
        answered=answered_forms(messages),
        **account_state(chat),
    )


@bp.post("/w/<public_key>/chats")
@per_ip("WIDGET_SESSIONS_LIMIT_PER_IP")
def start_chat(public_key: str):
    visit = Visit.reported(
        request.form.get("page_url"),
        request.form.get("referrer"),
        request.form.get("language"),
        request.user_agent.string,
    )
    chat, token, _origins = chats.start_chat(public_key, _customer_from_form(), visit)
    response = _whole_chat(db.session.get(Tenant, chat.tenant_id), chat, 201)
    # The page keeps these in localStorage and sends the token as a bearer token.
    response.headers["X-Chat-Id"] = str(chat.id)
    response.headers["X-Session-Token"] = token
    return response


@bp.get("/w/<public_key>/chats/<int:chat_id>")
@per_ip("WIDGET_READS_LIMIT_PER_IP")
@per_session("WIDGET_READS_LIMIT_PER_SESSION")
def restore_chat(public_key: str, chat_id: int):
    tenant, chat = session_chat(chat_id, public_key)
    return _whole_chat(tenant, chat)


@bp.get("/w/<public_key>/chats/<int:chat_id>/messages")
@per_ip("WIDGET_READS_LIMIT_PER_IP")
@per_session("WIDGET_READS_LIMIT_PER_SESSION")
def new_messages(public_key: str, chat_id: int):
    """Messages the customer did not type and has not seen: staff replies, reminders, log-ins."""
    tenant, chat = session_chat(chat_id, public_key)
    messages = chats.messages_after(chat, after_id(request.args.get("after")))
    # The account button only changes with a message ("Logged in as …"): check it then.
    account = account_state(chat) if messages else {}
    return partial("widget/_new_messages.html", tenant, chat, messages=messages, **account)


@bp.post("/w/<public_key>/chats/<int:chat_id>/messages")
@per_ip("WIDGET_MESSAGES_LIMIT_PER_IP")
@per_session("WIDGET_MESSAGES_LIMIT_PER_SESSION")
def send_message(public_key: str, chat_id: int):
    """The customer's bubble, and the agent's bubble that streams the reply in. Before
    them, what arrived after the page's last message (`after`) that no poll has brought
    yet, e.g. a staff reply written a moment ago: polls ask for messages after the
    newest the page has, which from now on is this one."""
    tenant, chat = session_chat(chat_id, public_key)
    seen = request.form.get("after")
    seen_id = None if seen is None else after_id(seen)
    message = chats.post_client_message(
        chat, request.form.get("text"), request.form.get("mode", "text")
    )
    newer = [] if seen_id is None else chats.messages_after(chat, seen_id)
    missed = [m for m in newer if m.id < message.id]
    stream_url = url_for(
        "widget.stream_reply",
        public_key=public_key,
        chat_id=chat.id,
        token=stream_token(public_key, chat, message.id),
    )
    return partial(
        "widget/_sent.html", tenant, chat, missed=missed, message=message, stream_url=stream_url
    )


def _sse(event: str, data: str) -> str:
    """One server-sent event; every line of the data gets its own `data:` field."""
    lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


def _reply_bubble(tenant: Tenant, chat: Chat, message: Message) -> str:
    return render_piece("widget/_reply.html", tenant, chat, message=message)


# An SSE comment: browsers ignore it; proxies see a connection that is still in use.
WAITING = ": waiting for the answer\n\n"


def _reply_events(chat_id: int, message_id: int) -> Iterator[str]:
    # Loaded here, not in the view: the view's database session ends when it returns.
    chat, tenant, _agent = chats.chat_for_turn(chat_id)  # held: see chat_for_turn
    turn = chats.answer_message(chat, message_id)
    answered = writing = False
    try:
        for event in turn:
            if isinstance(event, chats.AnswerPending):  # another stream is writing it
                yield WAITING
            elif isinstance(event, TextDelta):
                writing = True
                yield _sse("delta", str(escape(event.text)))
            else:
                answered = True
                yield _sse("done", _reply_bubble(tenant, chat, event))
        if not answered:  # a staff member is in charge: the AI stays silent
            yield _sse("done", render_piece("widget/_reply_held.html", tenant, chat))
    except GeneratorExit:
        # The customer left mid-reply (reload, closed tab): finish the turn anyway if
        # this stream writes it, so the reply is saved and shown when they come back.
        if writing:
            for _event in turn:
                pass
        turn.close()
        raise
    except Exception:
        log.exception("The reply stream of chat %s failed", chat.id)
        yield _sse("done", render_piece("widget/_reply_failed.html", tenant, chat))


@bp.get("/w/<public_key>/chats/<int:chat_id>/stream")
@per_ip("WIDGET_MESSAGES_LIMIT_PER_IP")
def stream_reply(public_key: str, chat_id: int):
    """The agent's reply as it is written (`delta` events), then its final bubble (`done`)."""
    message_id = stream_message_id(public_key, chat_id, request.args.get("token"))
    return Response(
        stream_with_context(_reply_events(chat_id, message_id)),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
