"""Inbound webhooks from providers. CSRF-exempt: each proves its origin by signature.

    POST /hooks/twilio/sms   (Twilio's form fields: To, From, Body, MessageSid, ...)
        200 `<Response/>` (text/xml, empty TwiML: the AI's answer goes out later by
            the API, from a background job, because Twilio waits 15 s at most); the
            text is saved waiting for its answer before the job is queued, so a
            job Redis cannot take is queued by the sweep (`sms_answers.sweep`); control
            characters in Body are dropped (`sms_chats.printable`);
        403 when X-Twilio-Signature is missing or wrong, or TWILIO_AUTH_TOKEN is
            unset; nothing is stored;
        404 when no AI employee has the To number; nothing is stored;
        422 for a From that is not a phone number or an empty Body;
        413 for a body over 32 KiB; 429 over the rate limits.

The signature covers the URL Twilio called, which behind a proxy is not the one
Flask sees (http vs https, internal host and port): it is checked against
PUBLIC_BASE_URL + the path, so PUBLIC_BASE_URL must be the exact address
configured in Twilio's console (scheme, host, any port and path prefix). Only
Auth Token signatures are accepted (not Twilio's SharedKey signing).

Rate limits: per sender number (counted only for signed requests, so nobody can
spend a customer's budget by forging their number) and per IP. Every customer's
texts arrive from Twilio's few addresses, so the per-IP budget is generous; behind
a proxy the remote address is the proxy's unless it passes the client's on.
"""

import logging

from flask import Blueprint, Response, current_app, request
from redis.exceptions import RedisError
from twilio.request_validator import SIGNATURE_HEADER, RequestValidator
from werkzeug.exceptions import BadRequest, Forbidden

from followup.extensions import limiter
from followup.queue import redis_connection
from followup.services import sms_answers, sms_chats
from followup.web.rate_limits import configured_limit, per_ip
from followup.web.requests import bound_body

log = logging.getLogger(__name__)

bp = Blueprint("hooks", __name__, url_prefix="/hooks")

# Twilio's inbound SMS parameters are about 1 KiB and a body at most 1600 characters.
MAX_BODY_BYTES = 32 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# Twilio signatures carry no time: a captured request stays valid. Each MessageSid
# is taken once within this window, so a replay (or a Twilio retry) stores nothing.
REPLAY_WINDOW_S = 7 * 24 * 3600


_bound_body = bound_body(bp, MAX_BODY_BYTES)


def _sender_key() -> str:
    # Flask-Limiter asks for this before the view and the blueprint's hooks run.
    _bound_body()
    return "twilio-sms-from:" + str(request.form.get("From", ""))[:40]


def _signed(response: Response) -> bool:
    return response.status_code != Forbidden.code


@bp.post("/twilio/sms")
@per_ip("SMS_WEBHOOK_LIMIT_PER_IP")
@limiter.limit(
    configured_limit("SMS_WEBHOOK_LIMIT_PER_NUMBER"), key_func=_sender_key, deduct_when=_signed
)
def twilio_sms() -> Response:
    _require_twilio_signature()
    message_sid = _required("MessageSid")
    if not _first_time(message_sid):
        return _twiml()  # already taken: Twilio retried, or someone replays it
    try:
        received = sms_chats.receive(
            request.form.get("To"), request.form.get("From"), request.form.get("Body")
        )
    except Exception:
        _forget(message_sid)  # nothing was stored: a retry of it must get through
        raise
    if received.message_id is not None:
        _queue_answer(received)
    return _twiml()


def _twiml() -> Response:
    return Response(EMPTY_TWIML, status=200, mimetype="text/xml")


def public_url() -> str:
    """The URL Twilio called and signed, as configured in its console."""
    query = request.query_string.decode("latin-1")
    return current_app.config["PUBLIC_BASE_URL"] + request.path + (f"?{query}" if query else "")


def _require_twilio_signature() -> None:
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    if not token:
        log.error("TWILIO_AUTH_TOKEN is not set: inbound SMS cannot be verified and are refused.")
        raise Forbidden("This server cannot verify Twilio's signature.")
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature or not RequestValidator(token).validate(public_url(), request.form, signature):
        raise Forbidden("The request is not signed by Twilio.")


def _required(name: str) -> str:
    value = request.form.get(name)
    if not value:
        raise BadRequest(f"The '{name}' parameter is missing.")
    return value


def _replay_key(message_sid: str) -> str:
    return f"followup:twilio-sms:{message_sid[:64]}"


def _first_time(message_sid: str) -> bool:
    try:
        return bool(
            redis_connection().set(_replay_key(message_sid), 1, nx=True, ex=REPLAY_WINDOW_S)
        )
    except RedisError as exc:
        # Without Redis a repeat cannot be told apart; storing it twice beats losing it.
        log.warning("Replay check skipped for %s (%s).", message_sid, exc)
        return True


def _forget(message_sid: str) -> None:
    try:
        redis_connection().delete(_replay_key(message_sid))
    except RedisError as exc:
        log.warning("Could not release %s (%s).", message_sid, exc)


def _queue_answer(received: sms_chats.Received) -> None:
    try:
        sms_answers.queue_answer(received.chat_id, received.message_id)
    except RedisError as exc:
        # The text is saved waiting for its answer: the sweep queues it once Redis is back.
        log.warning(
            "AI answer to SMS chat %s not queued (%s); the sweep will.", received.chat_id, exc
        )
