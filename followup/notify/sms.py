"""SMS notifications through the Twilio SDK.

`TWILIO_API_BASE` replaces Twilio's address (https://api.twilio.com) for every
request, through the SDK's own extension point for HTTP (a custom HttpClient), so
the real SDK can talk to a local server speaking the same API in tests.
"""

import importlib
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from followup.locales import in_language
from followup.models import FollowUpRequest, Notification, NotificationKind, Tenant
from followup.notify import Receipt, Undeliverable, email, failures, one_line

TWILIO_API_ADDRESS = "https://api.twilio.com"
SMS_REASON_LIMIT = 100
SMS_FIELD_LIMIT = 200


class _ApiBaseHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, sending what was meant for api.twilio.com to `api_base`."""

    def __init__(self, api_base: str, timeout: float):
        super().__init__(timeout=timeout)
        self.api_base = api_base.rstrip("/")

    def request(self, method: str, url: str, *args, **kwargs):
        if url.startswith(TWILIO_API_ADDRESS):
            url = self.api_base + url[len(TWILIO_API_ADDRESS) :]
        return super().request(method, url, *args, **kwargs)


def preload() -> None:
    """Import the SDK's API modules now; it loads them on first use (~0.3 s)."""
    importlib.import_module("twilio.rest.api")


def sms_body(followup: FollowUpRequest) -> str:
    """Name, email, phone if given, and the reason cut to 100 characters."""
    lines = [
        "New follow-up request",
        f"Name: {one_line(followup.name, SMS_FIELD_LIMIT)}",
        f"Email: {followup.email}",
    ]
    if followup.phone:
        lines.append(f"Phone: {followup.phone}")
    lines.append(f"Reason: {one_line(followup.reason, SMS_REASON_LIMIT)}")
    return "\n".join(lines)


def _client() -> Client:
    config = current_app.config
    if not (
        config["TWILIO_ACCOUNT_SID"]
        and config["TWILIO_AUTH_TOKEN"]
        and config["TWILIO_FROM_NUMBER"]
    ):
        raise Undeliverable(failures.SMS_NOT_CONFIGURED)
    return Client(
        config["TWILIO_ACCOUNT_SID"],
        config["TWILIO_AUTH_TOKEN"],
        http_client=_ApiBaseHttpClient(config["TWILIO_API_BASE"], config["TWILIO_TIMEOUT_S"]),
    )


def account_status() -> str:
    """The Twilio account's status ("active", "suspended", "closed"), fetched with the
    configured credentials: the doctor's proof that they work. Raises the SDK's
    TwilioRestException when Twilio refuses them, Undeliverable when SMS is off."""
    account = _client().api.v2010.accounts(current_app.config["TWILIO_ACCOUNT_SID"]).fetch()
    return str(account.status)


@dataclass
class OutgoingSms:
    to: str
    body: str
    # The number it is sent from; None: TWILIO_FROM_NUMBER. (An AI employee's chats
    # go out from its own number: services/channels.py.)
    sender: str | None = None

    def send(self) -> Receipt:
        """Ask Twilio to send it; the receipt holds the message SID."""
        client = _client()
        sender = self.sender or current_app.config["TWILIO_FROM_NUMBER"]
        try:
            message = client.messages.create(to=self.to, from_=sender, body=self.body)
        except TwilioRestException as exc:
            raise failures.twilio_refusal(exc, self.to, sender) from exc
        return Receipt(message.sid)


def staff_sms(notification: Notification, followup: FollowUpRequest, tenant: Tenant) -> OutgoingSms:
    """To the business's phone: who asked and why, in one short message."""
    return OutgoingSms(notification.recipient, sms_body(followup))


def promise_alert(
    notification: Notification, followup: FollowUpRequest, tenant: Tenant
) -> OutgoingSms:
    """To the business's phone: which request is at risk or overdue, and where it is."""
    headline = "Overdue" if notification.kind == NotificationKind.OVERDUE else "At risk"
    words = email.promise_alert_words(notification, followup)
    lines = [
        f"{headline}: follow-up request {words}",
        f"Name: {one_line(followup.name, SMS_FIELD_LIMIT)}",
        f"Reason: {one_line(followup.reason, SMS_REASON_LIMIT)}",
        email.followup_link(followup.id),
    ]
    return OutgoingSms(notification.recipient, "\n".join(lines))


def satisfaction_request(
    notification: Notification, followup: FollowUpRequest, tenant: Tenant, link: str
) -> OutgoingSms:
    """To the customer of a resolved request who gave only a phone: the short link, in
    the customer's language."""
    business = one_line(tenant.name, SMS_FIELD_LIMIT)
    with in_language(email.customer_locale(followup, tenant)):
        body = gettext(
            "%(business)s: how did we do? Rate us: %(link)s", business=business, link=link
        )
    return OutgoingSms(notification.recipient, body)


def trial_sms(to: str, business: str) -> OutgoingSms:
    """The System page's test SMS, to the mobile number of the member who asked."""
    return OutgoingSms(
        to, f"Test SMS from Followup for {one_line(business, SMS_FIELD_LIMIT)}: it arrived."
    )
