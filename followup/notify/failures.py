"""Why a notification did not go out, in the words staff read: the one place that
turns what a provider raised (exception class, SMTP reply code, Twilio error code)
into a sentence saying what happened and which setting to check.

The provider's own text is kept beside it as the technical text, folded away on the
request's detail panel; secrets from the configuration never reach either.
"""

import smtplib
import socket
import ssl

import requests
from flask import current_app
from rq.timeouts import JobTimeoutException
from twilio.base.exceptions import TwilioRestException

from followup.locales import staff_gettext, staff_text
from followup.models import NotificationChannel
from followup.notify import DeliveryFailed, NotSent, Undeliverable

TECHNICAL_TEXT_LIMIT = 1000
STAFF_TEXT_LIMIT = 500
SECRET_SETTINGS = ("MAIL_PASSWORD", "TWILIO_AUTH_TOKEN", "SECRET_KEY", "OPENAI_API_KEY")
HIDDEN = "[hidden]"

NOBODY_TO_TELL = {
    NotificationChannel.STAFF_EMAIL: staff_text(
        "There is no contact email and no owner email to send to."
    ),
    NotificationChannel.STAFF_SMS: staff_text(
        "There is no contact phone with SMS turned on to send to."
    ),
    NotificationChannel.CUSTOMER_EMAIL: staff_text("The request has no email address."),
    NotificationChannel.CUSTOMER_SMS: staff_text("The request has no phone number."),
}
LINK_NO_LONGER_VALID = staff_text(
    "The link in this email was used, replaced or expired before it could be sent."
)
SMS_NOT_CONFIGURED = staff_text(
    "SMS is not configured on this server: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN "
    "and TWILIO_FROM_NUMBER."
)
TWILIO_BAD_CREDENTIALS = staff_text(
    "Twilio rejected the credentials. Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN."
)
SOMETHING_ELSE = staff_text("Something went wrong while sending; the technical details say what.")

# Twilio's error codes about the number sent to, each with the reason in our words.
TWILIO_REFUSED_NUMBER = {
    21211: staff_text("it is not a valid phone number"),
    21214: staff_text("it is not a phone number that can be reached"),
    21408: staff_text("texts to its country are not enabled in the Twilio account"),
    21610: staff_text("its owner has unsubscribed from this sender (replied STOP)"),
    21612: staff_text("Twilio cannot send from this sender to it"),
    21614: staff_text("it cannot receive text messages"),
}
# …and about the number sent from.
TWILIO_REFUSED_SENDER = {21212, 21603, 21606, 21659}
TWILIO_AUTHENTICATION = 20003


def _hide_secrets(text: str) -> str:
    config = current_app.config
    for name in SECRET_SETTINGS:
        secret = config.get(name)
        if secret:
            text = text.replace(str(secret), HIDDEN)
    return text


def kind(exc: BaseException) -> str:
    """The failure's class, and the provider's beneath ours ("Undeliverable
    (SMTPRecipientsRefused)"): what a log may say of it, as no text of it is safe there."""
    cause = exc.__cause__
    return type(exc).__name__ + (f" ({type(cause).__name__})" if cause is not None else "")


def technical_text(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, NotSent) else f"{type(exc).__name__}: {exc}"
    return _hide_secrets(text)[:TECHNICAL_TEXT_LIMIT]


def explain(exc: BaseException) -> tuple[str, str | None]:
    """(what staff read, the technical text or None when it would say the same)."""
    staff = _staff_text(exc)
    technical = technical_text(exc)
    return _hide_secrets(staff)[:STAFF_TEXT_LIMIT], (technical if technical != staff else None)


def _staff_text(exc: BaseException) -> str:
    if isinstance(exc, NotSent):
        return staff_gettext(exc.staff_text)  # a constant here is translated; a sentence kept
    if isinstance(exc, requests.Timeout):
        limit = f"{current_app.config['TWILIO_TIMEOUT_S']:g}"
        return staff_gettext(
            "Twilio did not answer within %(limit)s s (TWILIO_TIMEOUT_S).", limit=limit
        )
    if isinstance(exc, requests.ConnectionError):
        return staff_gettext("Twilio could not be reached. Check the server's internet connection.")
    if isinstance(exc, JobTimeoutException):
        return staff_gettext(
            "Sending took longer than %(limit)s s (NOTIFY_JOB_TIMEOUT_S) and was stopped.",
            limit=current_app.config["NOTIFY_JOB_TIMEOUT_S"],
        )
    return staff_gettext(SOMETHING_ELSE)


# --- email -------------------------------------------------------------------------------------


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode(errors="replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}".strip()


def smtp_failure(exc: Exception, server: str) -> NotSent:
    """What an SMTP exchange with `server` ("host:port") raised, as a failure with staff
    words. A 5xx refusal of every recipient is final; the rest may pass later."""
    technical = technical_text(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        addresses = ", ".join(exc.recipients)
        replies = "; ".join(_reply(code, text) for code, text in exc.recipients.values())
        if all(code >= 500 for code, _ in exc.recipients.values()):
            refused = staff_gettext(
                "The mail server refused the address %(addresses)s: %(replies)s.",
                addresses=addresses,
                replies=replies,
            )
            return Undeliverable(technical, refused)
        not_now = staff_gettext(
            "The mail server did not take the address %(addresses)s for now: %(replies)s.",
            addresses=addresses,
            replies=replies,
        )
        return DeliveryFailed(technical, not_now)
    return DeliveryFailed(technical, _smtp_staff_text(exc, server))


def _smtp_staff_text(exc: Exception, server: str) -> str:
    host = server.rsplit(":", 1)[0]
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return staff_gettext(
            "The mail server rejected the login. Check MAIL_USERNAME and MAIL_PASSWORD."
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return staff_gettext(
            "The mail server refused the sender address %(sender)s (%(reply)s). "
            "Check MAIL_DEFAULT_SENDER.",
            sender=exc.sender,
            reply=_reply(exc.smtp_code, exc.smtp_error),
        )
    if isinstance(exc, smtplib.SMTPDataError):
        reply = _reply(exc.smtp_code, exc.smtp_error)
        if exc.smtp_code >= 500:
            return staff_gettext("The mail server rejected the message: %(reply)s.", reply=reply)
        return staff_gettext("The mail server could not take the message: %(reply)s.", reply=reply)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if "STARTTLS" in str(exc):
            return staff_gettext(
                "The mail server (%(server)s) does not offer encryption. Check MAIL_USE_TLS.",
                server=server,
            )
        return staff_gettext(
            "The mail server (%(server)s) does not offer a login here. Check MAIL_USE_TLS, "
            "MAIL_USERNAME and MAIL_PASSWORD.",
            server=server,
        )
    # smtplib reports a reply that never came as the server hanging up.
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return staff_gettext(
            "The mail server (%(server)s) did not answer within %(limit)s s (MAIL_TIMEOUT_S).",
            server=server,
            limit=f"{current_app.config['MAIL_TIMEOUT_S']:g}",
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return staff_gettext(
            "The mail server (%(server)s) closed the connection before the message was sent.",
            server=server,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return staff_gettext(
            "The mail server (%(server)s) answered: %(reply)s.",
            server=server,
            reply=_reply(exc.smtp_code, exc.smtp_error),
        )
    if isinstance(exc, ConnectionRefusedError):
        return staff_gettext(
            "The mail server refused the connection (%(server)s). Check MAIL_SERVER.",
            server=server,
        )
    if isinstance(exc, socket.gaierror):
        return staff_gettext(
            "The mail server's name %(host)s could not be found. Check MAIL_SERVER.", host=host
        )
    if isinstance(exc, ssl.SSLError):
        return staff_gettext(
            "The encrypted connection to the mail server failed (%(server)s). "
            "Check MAIL_USE_TLS and MAIL_PORT.",
            server=server,
        )
    if isinstance(exc, OSError):
        return staff_gettext(
            "The mail server could not be reached (%(server)s): %(reason)s. "
            "Check MAIL_SERVER and MAIL_PORT.",
            server=server,
            reason=exc.strerror or type(exc).__name__,
        )
    return staff_gettext(SOMETHING_ELSE)


# --- SMS ---------------------------------------------------------------------------------------


def twilio_refusal(exc: TwilioRestException, to: str, sender: str) -> NotSent:
    """Twilio's error answer as a failure with staff words. A 4xx other than "too many
    requests" is a refusal that a retry repeats; 5xx and 429 may pass later."""
    technical = f"Twilio answered {exc.status}" + (f" (error {exc.code})" if exc.code else "")
    technical = _hide_secrets(f"{technical}: {exc.msg}")[:TECHNICAL_TEXT_LIMIT]
    if exc.status == 429:
        slow_down = staff_gettext("Twilio asked us to slow down (too many messages).")
        return DeliveryFailed(technical, slow_down)
    if exc.status >= 500 or exc.status < 400:
        their_side = staff_gettext(
            "Twilio had a problem on its side (HTTP %(status)s).", status=exc.status
        )
        return DeliveryFailed(technical, their_side)
    return Undeliverable(technical, _twilio_staff_text(exc, to, sender))


def _twilio_staff_text(exc: TwilioRestException, to: str, sender: str) -> str:
    if exc.code == TWILIO_AUTHENTICATION or exc.status == 401:
        return staff_gettext(TWILIO_BAD_CREDENTIALS)
    if exc.code in TWILIO_REFUSED_NUMBER:
        return staff_gettext(
            "The phone number %(number)s was refused by Twilio: %(reason)s.",
            number=to,
            reason=staff_gettext(TWILIO_REFUSED_NUMBER[exc.code]),
        )
    if exc.code in TWILIO_REFUSED_SENDER:
        return staff_gettext(
            "Twilio refused the sending number %(number)s. Check TWILIO_FROM_NUMBER.",
            number=sender,
        )
    return staff_gettext("Twilio refused the message: %(reason)s", reason=exc.msg)
