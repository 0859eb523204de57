"""Emails through Flask-Mail: the staff alert, the customer's confirmation, and a
customer's login link.

Each has a plain-text and an HTML part rendered from templates/notify/; the HTML
templates autoescape, so customer text always shows as text. Customer text reaches
a header only through `one_line` (no header injection); addresses were validated
when the request was made.

With no MAIL_SERVER configured, every email is written whole (headers and body, as
it would be sent) to a file under the instance folder's `mail/` instead: nothing
waits on a mail server that is not there (see `hand_over`).
"""

import os
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.utils import formataddr, parseaddr
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format
from flask import current_app, render_template
from flask_babel import get_locale, gettext
from flask_mail import BadHeaderError
from flask_mail import Message as MailMessage

from followup.clock import utcnow
from followup.config import PROJECT_ROOT
from followup.extensions import db, mail
from followup.locales import in_language
from followup.models import (
    Chat,
    DeliveryState,
    FollowUpRequest,
    Notification,
    NotificationKind,
    StaffToken,
    Tenant,
    promise_clock,
    response_promise,
)
from followup.notify import Receipt, failures, one_line

SUBJECT_TEXT_LIMIT = 80
TEMPLATES = ("staff_email", "customer_email", "staff_link", "satisfaction_email")


def preload() -> None:
    """Compile the templates now (see `services.notifications.preload`)."""
    for template in TEMPLATES:
        for kind in ("txt", "html"):
            current_app.jinja_env.get_template(f"notify/{template}.{kind}")


def followup_link(followup_id: int) -> str:
    """The request in the admin panel."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/admin/followups/{followup_id}"


def promise_alert_words(notification: Notification, followup: FollowUpRequest) -> str:
    """ "due in 4 h" or "overdue by 5 min", as it was when the alert was raised."""
    return promise_clock(
        followup.created_at, followup.response_time_hours, followup.due_at, notification.created_at
    ).words


def _message_id(notification: Notification) -> str:
    """The same Message-ID on every attempt: should a resend ever happen (a worker
    killed after the server accepted the message), mail clients show it once."""
    host = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"
    stamp = int(notification.created_at.timestamp())
    return f"<notification-{notification.id}-{stamp}@{host}>"


def _context(followup: FollowUpRequest, tenant: Tenant, **extra) -> dict:
    # A name is one line: line breaks in it would forge lines of the message.
    return {"followup": followup, "tenant": tenant, "name": one_line(followup.name, 200)} | extra


def saves_to_files() -> bool:
    """No MAIL_SERVER: emails are written to files instead of sent."""
    return not current_app.config.get("MAIL_SERVER")


def mail_folder() -> Path:
    return Path(current_app.instance_path) / "mail"


def mail_folder_label() -> str:
    """The folder as people find it: relative to the project when it lies inside."""
    folder = mail_folder()
    return str(folder.relative_to(PROJECT_ROOT) if folder.is_relative_to(PROJECT_ROOT) else folder)


def _save(message: MailMessage, tag: str) -> str:
    """Write the message as an .eml file named by time then `tag`, so a listing is in
    the order they were written; returns the file's name. Only the name: the folder
    is known from the configuration, and a path could outgrow the column it is kept in."""
    if message.date is None:  # as Flask-Mail stamps it when sending
        message.date = utcnow().timestamp()
    if message.has_bad_headers():  # the check Flask-Mail makes before sending
        raise BadHeaderError
    folder = mail_folder()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow():%Y%m%dT%H%M%S.%fZ}-{tag}.eml"
    # Written aside, then renamed: a mail client never opens half a file.
    partial = folder / f".{name}.part"
    partial.write_bytes(message.as_bytes())
    os.replace(partial, folder / name)
    return name


def hand_over(message: MailMessage, tag: str) -> Receipt:
    """Send the message through MAIL_SERVER, or save it as a file when none is set.
    `tag` names the file ("notification-12"). SMTP failures come back in staff words
    (`failures.smtp_failure`)."""
    if saves_to_files():
        return Receipt(_save(message, tag), DeliveryState.SAVED_TO_FILE)
    try:
        mail.send(message)
    except (smtplib.SMTPException, OSError) as exc:
        config = current_app.config
        raise failures.smtp_failure(exc, f"{config['MAIL_SERVER']}:{config['MAIL_PORT']}") from exc
    return Receipt(message.msgId)


@dataclass
class OutgoingEmail:
    message: MailMessage
    tag: str

    def send(self) -> Receipt:
        return hand_over(self.message, self.tag)


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
    return OutgoingEmail(message, f"notification-{notification.id}")


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


def _about_request(
    notification: Notification,
    followup: FollowUpRequest,
    tenant: Tenant,
    subject: str,
    headline: str,
) -> OutgoingEmail:
    """To a member, about a request: `headline` first, then the request as in the alert."""
    context = _context(followup, tenant, link=followup_link(followup.id), headline=headline)
    return _email(notification, "staff_email", context, subject, reply_to=followup.email)


def assignment(
    notification: Notification, followup: FollowUpRequest, tenant: Tenant
) -> OutgoingEmail:
    """To the member someone else gave the request."""
    name = one_line(followup.name, SUBJECT_TEXT_LIMIT)
    return _about_request(
        notification,
        followup,
        tenant,
        f"Assigned to you: follow-up request from {name}",
        f"The follow-up request from {name} was assigned to you.",
    )


def promise_alert(
    notification: Notification, followup: FollowUpRequest, tenant: Tenant
) -> OutgoingEmail:
    """To the assignee (or the team): the request is at risk of missing the promised
    response time, or missed it. The time is the alert's own, the same on every attempt."""
    name = one_line(followup.name, SUBJECT_TEXT_LIMIT)
    words = promise_alert_words(notification, followup)
    if notification.kind == NotificationKind.OVERDUE:
        subject = f"Overdue: follow-up request from {name}"
        headline = (
            f"The follow-up request from {name} is {words}: the promised "
            f"{followup.response_time_hours}-hour response time has passed."
        )
    else:
        subject = f"At risk: follow-up request from {name}, {words}"
        headline = (
            f"The follow-up request from {name} is {words}, and nobody has contacted them yet."
        )
    return _about_request(notification, followup, tenant, subject, headline)


def customer_confirmation(
    notification: Notification, followup: FollowUpRequest, tenant: Tenant
) -> OutgoingEmail:
    """To the customer: the request arrived, and when to expect an answer.

    Anybody can ask for a follow-up with anybody's email, so unless the customer proved
    the address (`identity_verified`) the email carries none of the visitor's words, no
    name and no reason: it cannot be used to send a chosen text to a chosen address."""
    business = one_line(tenant.name, SUBJECT_TEXT_LIMIT)
    sender_address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1]
    with in_language(customer_locale(followup, tenant)) as language:
        context = _context(
            followup,
            tenant,
            promise=response_promise(tenant),
            proven=followup.identity_verified,
            received=customer_datetime(followup.created_at, tenant),
            language=language,
        )
        return _email(
            notification,
            "customer_email",
            context,
            subject=gettext("%(business)s: we received your request", business=business),
            # The customer's reply reaches the business, not our sending address.
            reply_to=tenant.contact_email,
            sender=formataddr((business, sender_address)),
        )


def customer_locale(followup: FollowUpRequest, tenant: Tenant) -> str:
    """The language of the chat the request came from, else the business's default
    for visitors (a request made through the API)."""
    chat = db.session.get(Chat, followup.chat_id) if followup.chat_id else None
    return chat.locale if chat is not None else tenant.visitor_locale


def customer_datetime(moment: datetime, tenant: Tenant) -> str:
    """A date and time as the customer's language writes it, to the minute, in the
    business's time zone: "December 7, 2026, 2:05 PM CET", "7. Dezember 2026, 14:05
    CET" (Babel's long date and short time, joined as the language joins them)."""
    local = moment.astimezone(ZoneInfo(tenant.timezone))
    locale = get_locale() or Locale("en")
    date = format_date(local, "long", locale=locale)
    time = f"{format_time(local, 'short', locale=locale)} {local.tzname()}"
    joined = get_datetime_format("long", locale=locale).replace("'", "")
    return joined.replace("{0}", time).replace("{1}", date)


def satisfaction_request(
    notification: Notification,
    followup: FollowUpRequest,
    tenant: Tenant,
    link: str,
    lifetime_days: int,
) -> OutgoingEmail:
    """To the customer of a resolved request: "How did we do?", with the link to rate
    it (working `lifetime_days`), in the customer's language. It carries none of the
    request's words: only the business's name and the link."""
    business = one_line(tenant.name, SUBJECT_TEXT_LIMIT)
    sender_address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1]
    with in_language(customer_locale(followup, tenant)) as language:
        context = {
            "tenant": tenant,
            "link": link,
            "lifetime_days": lifetime_days,
            "language": language,
        }
        return _email(
            notification,
            "satisfaction_email",
            context,
            subject=gettext("%(business)s: how did we do?", business=business),
            reply_to=tenant.contact_email,
            sender=formataddr((business, sender_address)),
        )


# A staff member's one-time link: where it leads, the subject, and what it is for.
STAFF_LINKS = {
    NotificationKind.STAFF_INVITATION: (
        "/invitation/",
        "{business}: you are invited to the team on Followup",
        "{inviter} invited you to join {business} on Followup.",
        "Open this link to choose your name and password",
    ),
    NotificationKind.PASSWORD_RESET: (
        "/reset-password/",
        "Reset your Followup password",
        "Somebody (we hope you) asked to reset the password of your Followup account.",
        "Open this link to choose a new password",
    ),
    NotificationKind.EMAIL_CHANGE: (
        "/confirm-email/",
        "Confirm your new email address on Followup",
        "You asked to sign in to Followup with this address from now on.",
        "Open this link to confirm it",
    ),
}


def staff_link(notification: Notification, token: StaffToken, tenant: Tenant) -> OutgoingEmail:
    """To a staff member: an invitation, a password reset or an email change, each a
    link that works once, until it expires."""
    path, subject, why, action = STAFF_LINKS[NotificationKind(notification.kind)]
    business = one_line(tenant.name, SUBJECT_TEXT_LIMIT)
    inviter = token.invited_by_name or "Your team"
    context = {
        "why": why.format(business=business, inviter=one_line(inviter, 200)),
        "action": action,
        "link": f"{current_app.config['PUBLIC_BASE_URL']}{path}{token.token}",
        "expires_at": token.expires_at,
        "unasked": notification.kind != NotificationKind.STAFF_INVITATION,
    }
    return _email(
        notification, "staff_link", context, subject.format(business=business), reply_to=None
    )


def login_link(address: str, business: str, where: str, link: str, asked_at: str) -> MailMessage:
    """To whoever asked for a login link in a chat (`where`: on which site, from which
    device; `asked_at`: when, as the customer's language writes it), with the link to
    open and the code to type in that chat. Written in the language in force."""
    return MailMessage(
        subject=gettext("Your login link for %(business)s", business=business),
        recipients=[address],
        body=gettext(
            # No name: whoever first typed this address chose it, and this email
            # must carry nobody's words to an address nobody proved.
            "Hello,\n\n"
            "Somebody asked for a login link to the chat with %(business)s %(where)s, "
            "at %(asked_at)s.\n\n"
            "If that was you, open this link and type the code shown in that chat "
            "window:\n%(link)s\n\n"
            "It works once and expires in 30 minutes.\n\n"
            "If you did not ask for it, ignore this email: without the code shown in "
            "the chat that asked, nobody can log in with it.\n",
            business=business,
            where=where,
            asked_at=asked_at,
            link=link,
        ),
    )


def trial_email(address: str, business: str) -> OutgoingEmail:
    """The System page's test email, to the member who asked for it."""
    message = MailMessage(
        subject=f"Test email from Followup ({one_line(business, SUBJECT_TEXT_LIMIT)})",
        recipients=[address],
        body=(
            "Hello,\n\n"
            "This is the test email you asked for on the System page of Followup. "
            "It arrived, so the emails to your team and your customers can too.\n"
        ),
    )
    return OutgoingEmail(message, "test-email")
