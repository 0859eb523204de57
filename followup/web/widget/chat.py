"""The conversation: start or restore a chat, send a message, stream the reply, poll for news."""

from collections.abc import Iterator

from flask import Response, make_response, render_template, request, url_for
from markupsafe import escape

from followup.extensions import db
from followup.models import Chat, Message, Tenant
from followup.services import autofollowup, chats
from followup.services.visitors import Visit
from followup.services.widget_identity import SignInRequired
from followup.web.chat_session import after_id, event_stream, relay_turn, session_chat, sse
from followup.web.locale import browser_language, use_locale
from followup.web.rate_limits import per_ip
from followup.web.requests import BadJson, BadText, parse_json
from followup.web.widget import bp
from followup.web.widget.access import stream_message_id, stream_token
from followup.web.widget.forms import MessageForm, StartChatForm
from followup.web.widget.limits import per_session
from followup.web.widget.rendering import account_state, answered_forms, partial, render_piece

# What the website passes as `FollowupWidget.customer` is five short strings, or a token.
MAX_CUSTOMER_JSON = 6000


def _customer_from(raw: str | None) -> dict | None:
    """The website's customer data relayed by the page; unusable data means an anonymous chat.

    A visitor must always be able to chat, whatever the website's integration sends.
    """
    raw = raw or ""
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


def _sign_in_asked(refused: SignInRequired) -> Response:
    """In place of the chat: the page shows it as it is, and keeps no session."""
    page = render_template(
        "widget/_sign_in.html", message=refused.message, sign_in_url=refused.sign_in_url
    )
    response = make_response(page, refused.http_status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/w/<public_key>/chats")
@per_ip("WIDGET_SESSIONS_LIMIT_PER_IP")
def start_chat(public_key: str):
    form = StartChatForm.posted()
    visit = Visit.reported(
        form.page_url.data,
        form.referrer.data,
        form.language.data,
        request.user_agent.string,
        asked_locale=form.locale.data,
        browser_locale=browser_language(),
    )
    # The page's language (its `locale`) until the chat has its own.
    use_locale(visit.asked_locale or visit.browser_locale)
    try:
        chat, token, _origins = chats.start_chat(
            public_key, _customer_from(form.customer.data), visit
        )
    except SignInRequired as refused:
        return _sign_in_asked(refused)
    use_locale(chat.locale)
    response = _whole_chat(db.session.get(Tenant, chat.tenant_id), chat, 201)
    # The page keeps these in localStorage and sends the token as a bearer token.
    response.headers["X-Chat-Id"] = str(chat.id)
    response.headers["X-Session-Token"] = token
    return response


@bp.get("/w/<public_key>/chats/<int:chat_id>")
@per_ip("WIDGET_READS_LIMIT_PER_IP")
@per_session("WIDGET_READS_LIMIT_PER_SESSION")
def restore_chat(public_key: str, chat_id: int):
    try:
        tenant, chat = session_chat(chat_id, public_key)
    except SignInRequired as refused:
        return _sign_in_asked(refused)
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
    form = MessageForm.posted()
    seen_id = None if form.after.data is None else after_id(form.after.data)
    message = chats.post_client_message(chat, form.text.data, form.mode.data)
    newer = [] if seen_id is None else chats.messages_after(chat, seen_id)
    missed = [m for m in newer if m.id < message.id]
    stream_url = url_for(
        "widget.stream_reply",
        public_key=public_key,
        chat_id=chat.id,
        token=stream_token(public_key, chat, message.id),
    )
    return partial(
        "widget/_sent.html",
        tenant,
        chat,
        missed=missed,
        message=message,
        stream_url=stream_url,
        # While staff are in charge the AI stays silent: nobody is shown typing.
        ai_typing=not autofollowup.staff_in_charge(chat),
    )


class _ReplyEvents:
    """The reply as the page's htmx SSE extension swaps it in: the text as it comes
    (`delta`), then the bubble that replaces it (`done`)."""

    def __init__(self, tenant: Tenant, chat: Chat):
        self.tenant, self.chat = tenant, chat

    def delta(self, text: str) -> bytes:
        return sse("delta", str(escape(text)))

    def end(self, answer: Message | None) -> Iterator[bytes]:
        if answer is None:  # a staff member is in charge: the AI stays silent
            yield self._done("widget/_reply_held.html")
        else:
            yield self._done("widget/_reply.html", message=answer)

    def failed(self) -> bytes:
        return self._done("widget/_reply_failed.html")

    def _done(self, template: str, **context) -> bytes:
        return sse("done", render_piece(template, self.tenant, self.chat, **context))


def _reply_events(chat_id: int, message_id: int) -> Iterator[bytes]:
    # Loaded here, not in the view: the view's database session ends when it returns.
    chat, tenant, _agent = chats.chat_for_turn(chat_id)  # held: see chat_for_turn
    # The page posted the message; this stream writes its answer once it claims the turn.
    turn = chats.answer_message(chat, message_id)
    yield from relay_turn(turn, chat_id, _ReplyEvents(tenant, chat), owns_turn=False)


@bp.get("/w/<public_key>/chats/<int:chat_id>/stream")
@per_ip("WIDGET_MESSAGES_LIMIT_PER_IP")
def stream_reply(public_key: str, chat_id: int):
    """The agent's reply as it is written (`delta` events), then its final bubble (`done`)."""
    message_id = stream_message_id(public_key, chat_id, request.args.get("token"))
    return event_stream(_reply_events(chat_id, message_id), cache_control="no-store")
