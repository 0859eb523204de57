"""Notification emails through Flask-Mail: the staff alert and the customer's confirmation.

Each has a plain-text and an HTML part rendered from templates/notify/; the HTML
templates autoescape, so customer text always shows as text. Customer text reaches
a header only through `one_line` (no header injection); addresses were validated
when the request was made.
"""

import smtplib
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_mail import Message as MailMessage

from followup.extensions import mail
from followup.llm.prompts import response_promise
from followup.models import FollowUpRequest, Notification, Tenant
from followup.notify import Undeliverable, one_line

SUBJECT_TEXT_LIMIT = 80
TEMPLATES = ("staff_email", "customer_email")


def preload() -> None:
    """Compile the templates now (see `outbox.preload`)."""
    for template in TEMPLATES:
        for kind in ("txt", "html"):
            current_app.jinja_env.get_template(f"notify/{template}.{kind}")


def followup_link(followup_id: int) -> str:
    """The request in the admin panel."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/admin/followups/{followup_id}"


def _message_id(notification: Notification) -> str:
    """The same Message-ID on every attempt: should a resend ever happen (a worker
    killed after the server accepted the message), mail clients show it once."""
    host = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"
    stamp = int(notification.created_at.timestamp())
    return f"<notification-{notification.id}-{stamp}@{host}>"


def _context(followup: FollowUpRequest, tenant: Tenant, **extra) -> dict:
    # A name is one line: line breaks in it would forge lines of the message.
    return {"followup": followup, "tenant": tenant, "name": one_line(followup.name, 200)} | extra


@dataclass
class OutgoingEmail:
    message: MailMessage

    def send(self) -> str:
        """Hand the message to the SMTP server; returns its Message-ID."""
        try:
            mail.send(self.message)
        except smtplib.SMTPRecipientsRefused as exc:
            # 5xx is the server's final word on an address; 4xx may pass later.
            if all(code >= 500 for code, _ in exc.recipients.values()):
                raise Undeliverable(
                    f"The mail server refused {', '.join(exc.recipients)}."
                ) from exc
            raise
        return self.message.msgId


def _email(
    notification: Notification,
    template: str,
    context: dict,
    subject: str,
    reply_to: str | None,
    sender: str | None = None,
) -> OutgoingEmail:
    message = MailMessage(
        subject=subject,
        recipients=[notification.recipient],
        sender=sender,
        reply_to=reply_to,
        body=render_template(f"notify/{template}.txt", **context),
        html=render_template(f"notify/{template}.html", **context),
    )
    message.msgId = _message_id(notification)
    return OutgoingEmail(message)


def staff_alert(
    notification: Notification, followup: FollowUpRequest, tenant: Tenant
) -> OutgoingEmail:
    """To the business: who asked, how to reach them, why, and the link to the request."""
    subject = f"New follow-up request from {one_line(followup.name, SUBJECT_TEXT_LIMIT)}"
    if followup.is_high_priority:
        subject = f"[High Priority] {subject}"
    context = _context(followup, tenant, link=followup_link(followup.id))
    # Replying from the mail client writes straight to the customer.
    return _email(notification, "staff_email", context, subject, reply_to=followup.email)


def customer_confirmation(
    notification: Notification, followup: FollowUpRequest, tenant: Tenant
) -> OutgoingEmail:
    """To the customer: the request arrived, and when to expect an answer."""
    business = one_line(tenant.name, SUBJECT_TEXT_LIMIT)
    sender_address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1]
    context = _context(followup, tenant, promise=response_promise(tenant))
    return _email(
        notification,
        "customer_email",
        context,
        subject=f"{business}: we received your request",
        # The customer's reply reaches the business, not our sending address.
        reply_to=tenant.contact_email,
        sender=formataddr((business, sender_address)),
    )
