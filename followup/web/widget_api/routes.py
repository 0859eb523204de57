"""The widget's JSON client API: parse the input, call one chat service, serialise the result.

Base path `/api/widget/v1`. JSON in and out; errors are
`{"error": {"code", "message", "fields"}}`. A chat's endpoints need its session
token: `Authorization: Bearer <session_token>` (missing → 401, wrong or for
another chat → 404). Bodies over 64 KiB → 413; a body that is not a JSON object →
400 `bad_json`; bad or unknown fields → 422 naming each. Every endpoint is rate
limited per IP and, for chat endpoints, per session (429 with Retry-After; see
`limits.py` for the config keys). CORS: answered with
`Access-Control-Allow-Origin: <origin>` only for the tenant's allowed origins;
preflight `OPTIONS` on any path → 204.

    GET  /<public_key>/config
         200 {agent_name, followups_enabled, response_time_hours, presence, origin_allowed};
         unknown key 404. `presence`: who answers the chat now ("ai": the AI at once;
         "follow_up": no AI, leave details for the team; "team": no AI, no follow-ups,
         the team replies in the chat). `origin_allowed`: whether a page on the
         request's Origin may show the widget (its allowed origins are never listed);
         `/widget.js` asks before it shows its button. Readable from any origin (CORS *);
         cacheable for 5 minutes per Origin when allowed (a refusal: no-cache).
         It notes the page's origin (Origin, else Referer) and the time, at most
         once a minute per tenant, for "Check the snippet" (`services/snippet.py`).
    POST /<public_key>/sessions       {customer?: {id, name, email, phone, signature} |
                                                  {token},
                                       page_url?, referrer?, language?}
         201 {session_token, chat_id}; unknown key 404. Bad customer values are
         dropped, not refused; a valid signature = hex(HMAC-SHA256(widget secret, id))
         or a valid token (a JWT, HS256 with the widget secret: sub, name, email,
         phone, exp at most 24 h ahead) marks the identity verified. When the business
         requires a verified identity, an unverified one gets 403 `sign_in_required`
         with `error.sign_in_url`, the website's sign-in page (null when not set);
         so does every request of a chat begun unverified, once the rule is on.
         page_url (the page the chat starts on) and
         referrer (its document.referrer) are http(s) addresses, of which only the
         origin and path are kept (at most 2000 characters; a query or #fragment can
         carry a token or an email), language a browser language tag ("en-GB");
         staff see them on the chat, with the device class (mobile, tablet or
         desktop) read from the User-Agent. A bad value is dropped, not refused.
    POST /chats/<chat_id>/messages    {text, mode?: "text"|"voice"}
         200 {messages: [client message, agent message], actions: [...]}; text longer
         than 4000 characters 422. An action {type: "followup_form", prefill: {name,
         email, phone, reason}, summary, priority, response_time_hours} means the AI
         offered a follow-up: show the form. While a staff member is in charge of
         the chat (they replied in the last 30 minutes) the AI does not answer:
         `messages` holds the client message alone; the staff reply comes by polling.
         With `Accept: text/event-stream` the answer streams as Server-Sent Events
         (see `stream.py`): `token` {text}…, `message` {agent message}, `done`
         {messages, actions}; `error` if it breaks.
    GET  /chats/<chat_id>/messages?after=<message id>
         200 {messages: [...]}: every message after that id (0 or none: all),
         including agent fallbacks, staff replies, reminders and system notes.
    POST /chats/<chat_id>/followups   {name, email, phone?, reason, form_id?}
         201 {id, status, message}: message is the thank-you that repeats the
         response time; 422 with fields; 409 `followups_disabled` when turned off.
         `form_id` (or an `Idempotency-Key` header): the form's one-time id; the
         same form sent again (a retry) saves nothing new and gets the same answer.
    POST /chats/<chat_id>/login-link  {email}
         202 {message, code}: the same answer whether or not the email is a
         customer's; a known customer gets a one-time link by email, valid 30
         minutes. Show `code` to the customer: the link's page asks for it, and only
         that code logs this chat in (5 wrong codes and the link is dead), so a link
         that reaches somebody who did not ask for it logs nobody in.
    POST /chats/<chat_id>/transcriptions   multipart/form-data, field `audio`: a recording
         (audio/webm, audio/ogg, audio/mp4, …; at most 2 MB, about 60 s)
         200 {text}: what the model server heard ("" when nothing could be made out).
         Nothing is saved: the widget sends the text as a message with mode "voice".
         422 for no, too big or non-audio recordings; 409 `voice_on_server_off` when the
         business chose the browser's speech APIs only; 503
         `transcription_unavailable` when the model server cannot transcribe now.
    GET  /chats/<chat_id>/messages/<message_id>/speech
         200 audio/wav: one of the chat's own AI replies read aloud (no other text
         can be sent, so this is no free text-to-speech service); 404 for any other
         message; 409 as above; 503 `speech_unavailable` ("Spoken replies aren't
         available here; replies appear as text.") when no speech model answers.
    GET  /chats/<chat_id>/followups
         200 {customer: {name, email} | null, items: [{id, reason, status, source,
         created_at, contacted_at, resolved_at, cancelled_at}]}: the logged-in
         customer's requests, newest first (empty when nobody is logged in): the
         customer whose id the website signed, or who used a login link with its code.

A message is {id, role: "client"|"agent"|"staff"|"system", content, mode:
"text"|"voice", created_at (ISO 8601 UTC), action: object | null, sender: string |
null}. `sender` names who wrote a staff reply as the widget shows it: the staff
member's first name and the business ("Anna · Acme team"; "Acme team" when they have
no name); null on every other message. Content and sender are data: render them as
text, never as HTML.
"""

from flask import Response, request
from flask_babel import gettext

from followup.locales import mark
from followup.models import Mode, Source, Tenant
from followup.services import (
    chat_identity,
    chats,
    customer_login,
    idempotency,
    snippet,
    voice_audio,
    widget_look,
)
from followup.services.queries import row_id
from followup.services.visitors import Visit
from followup.services.widget_identity import SignInRequired
from followup.web.chat_session import after_id, checked_session
from followup.web.framing import may_show_on
from followup.web.locale import browser_language, use_locale, visitor_locale
from followup.web.rate_limits import per_ip
from followup.web.widget_api import bp
from followup.web.widget_api.access import (
    authorized_chat,
    body_with,
    opened_session,
    uploaded_audio,
)
from followup.web.widget_api.limits import per_session
from followup.web.widget_api.serialize import (
    customer_json,
    customer_request_json,
    message_json,
    turn_json,
)
from followup.web.widget_api.stream import turn_stream, wants_event_stream

CHAT_URL = "/chats/<int:chat_id>"
SESSION_FIELDS = frozenset({"customer", "page_url", "referrer", "language", "locale"})
MESSAGE_FIELDS = frozenset({"text", "mode"})
FOLLOWUP_FIELDS = frozenset({"name", "email", "phone", "reason"})
LOGIN_LINK_FIELDS = frozenset({"email"})
LOGIN_LINK_ANSWER = mark(
    "If this email belongs to one of our customers, we have sent a login link to it. "
    "Open it within 30 minutes and type this code on its page."
)


# Every page view of a host site asks for the config: browsers and shared caches may
# keep it for five minutes, one answer per Origin (`cors.py` adds Vary: Origin), since
# origin_allowed depends on it. A refusal is asked again each time: the owner who
# adds the site in Settings sees the button on the next page view.
CACHE_A_YES = "public, max-age=300"
CACHE_A_NO = "no-cache"


@bp.errorhandler(SignInRequired)
def sign_in_required(refused: SignInRequired) -> tuple[dict, int]:
    """The usual error, with where the visitor signs in: the custom UI links to it."""
    error = {"code": refused.code, "message": refused.message, "fields": {}}
    return {"error": error | {"sign_in_url": refused.sign_in_url}}, refused.http_status


def _look_config(tenant: Tenant) -> dict:
    """What the loader needs of the look before the chat opens: the launcher's colour and side."""
    look = widget_look.look_of(tenant.id)
    return {"accent": look.accent, "position": look.position}


@bp.get("/<public_key>/config")
@per_ip("WIDGET_CONFIG_LIMIT_PER_IP")
def widget_config(public_key: str) -> tuple[dict, dict]:
    tenant = chats.tenant_for_widget(public_key)
    allowed = may_show_on(tenant, request.headers.get("Origin"))
    snippet.record_seen(tenant, request.headers.get("Origin"), request.headers.get("Referer"))
    config = {
        "agent_name": chats.web_widget_agent_name(tenant),
        "followups_enabled": tenant.followups_enabled,
        "response_time_hours": tenant.response_time_hours,
        "presence": chats.widget_presence(tenant),
        "origin_allowed": allowed,
        "look": _look_config(tenant),
        "labels": _launcher_labels(tenant),
    }
    # The labels follow the browser's language when the host page names none.
    headers = {"Cache-Control": CACHE_A_YES if allowed else CACHE_A_NO, "Vary": "Accept-Language"}
    return config, headers


def _launcher_labels(tenant: Tenant) -> dict[str, str]:
    """What the loader names its button and the chat's frame, in the visitor's language
    (`?locale=` as the host page set it, else the browser's, else the business's)."""
    use_locale(visitor_locale(tenant, request.args.get("locale")))
    return {"open": gettext("Open chat"), "chat": gettext("Chat with us")}


@bp.post("/<public_key>/sessions")
@per_ip("WIDGET_SESSIONS_LIMIT_PER_IP")
def start_session(public_key: str) -> tuple[dict, int]:
    body = body_with(SESSION_FIELDS, optional=True)
    visit = Visit.reported(
        body.get("page_url"),
        body.get("referrer"),
        body.get("language"),
        request.user_agent.string,
        asked_locale=body.get("locale"),
        browser_locale=browser_language(),
    )
    use_locale(visit.asked_locale or visit.browser_locale)
    opened = chats.start_chat(public_key, body.get("customer"), visit)
    opened_session(opened.allowed_origins)
    return {"session_token": opened.token, "chat_id": row_id(opened.chat)}, 201


@bp.post(f"{CHAT_URL}/messages")
@per_ip("WIDGET_MESSAGES_LIMIT_PER_IP")
@per_session("WIDGET_MESSAGES_LIMIT_PER_SESSION")
def post_message(chat_id: int):
    chat = authorized_chat(chat_id)
    body = body_with(MESSAGE_FIELDS)
    client_message, answer = chats.take_client_message(
        chat, body.get("text"), body.get("mode", Mode.TEXT)
    )
    # Read now, as saved: the answer's commit will expire it.
    client_json = message_json(client_message)
    if wants_event_stream():
        return turn_stream(chat_id, client_json, answer)
    return turn_json(client_json, chats.whole_answer(answer))


@bp.get(f"{CHAT_URL}/messages")
@per_ip("WIDGET_READS_LIMIT_PER_IP")
@per_session("WIDGET_READS_LIMIT_PER_SESSION")
def new_messages(chat_id: int) -> dict:
    chat = authorized_chat(chat_id)
    after = after_id(request.args.get("after"))
    business = checked_session().tenant.name  # read with the chat, no query more
    return {"messages": [message_json(m, business) for m in chats.messages_after(chat, after)]}


@bp.post(f"{CHAT_URL}/followups")
@per_ip("WIDGET_FOLLOWUPS_LIMIT_PER_IP")
@per_session("WIDGET_FOLLOWUPS_LIMIT_PER_SESSION")
def submit_followup(chat_id: int) -> tuple[dict, int]:
    chat = authorized_chat(chat_id)
    body = body_with(FOLLOWUP_FIELDS | {"form_id"})
    form_id = idempotency.checked_key(
        body.pop("form_id", None) or request.headers.get("Idempotency-Key")
    )
    followup, thanks = chats.submit_followup(chat, body, source=Source.TEXT, form_id=form_id)
    message = thanks.content if thanks else ""
    return {"id": followup.id, "status": followup.status, "message": message}, 201


@bp.post(f"{CHAT_URL}/login-link")
@per_ip("WIDGET_LOGIN_LINK_LIMIT_PER_IP")
@per_session("WIDGET_LOGIN_LINK_LIMIT_PER_SESSION")
def request_login_link(chat_id: int) -> tuple[dict, int]:
    chat = authorized_chat(chat_id)
    body = body_with(LOGIN_LINK_FIELDS)
    code = customer_login.request_login_link(chat, body.get("email"))
    return {"message": gettext(LOGIN_LINK_ANSWER), "code": code}, 202


@bp.get(f"{CHAT_URL}/followups")
@per_ip("WIDGET_READS_LIMIT_PER_IP")
@per_session("WIDGET_READS_LIMIT_PER_SESSION")
def customer_requests(chat_id: int) -> dict:
    chat = authorized_chat(chat_id)
    return {
        "customer": customer_json(chat_identity.signed_in_customer(chat)),
        "items": [customer_request_json(f) for f in chat_identity.requests_of(chat)],
    }


@bp.post(f"{CHAT_URL}/transcriptions")
@per_ip("WIDGET_TRANSCRIPTIONS_LIMIT_PER_IP")
@per_session("WIDGET_TRANSCRIPTIONS_LIMIT_PER_SESSION")
def transcribe_recording(chat_id: int) -> dict:
    chat = authorized_chat(chat_id)
    data, content_type = uploaded_audio(voice_audio.MAX_AUDIO_BYTES)
    return {"text": voice_audio.transcribe(chat, data, content_type)}


@bp.get(f"{CHAT_URL}/messages/<int:message_id>/speech")
@per_ip("WIDGET_SPEECH_LIMIT_PER_IP")
@per_session("WIDGET_SPEECH_LIMIT_PER_SESSION")
def reply_speech(chat_id: int, message_id: int) -> Response:
    chat = authorized_chat(chat_id)
    spoken = voice_audio.speech_of_reply(chat, message_id)
    response = Response(spoken, mimetype=voice_audio.SPEECH_CONTENT_TYPE)
    # A reply never changes: the browser may keep its sound, for this visitor only.
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
