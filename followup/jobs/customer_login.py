"""Emailing a customer's one-time login link.

The request that asks for a link only queues this job (see
`services.customers.request_login_link`): looking the customer up and making the
link happen here, so the request takes the same time whether or not the email is
a customer's. A failed send is retried by RQ a few times, soon: the link lives 30
minutes and the customer is waiting in the chat.
"""

from datetime import datetime

from flask_mail import Message as MailMessage
from rq import Retry

from followup.extensions import db
from followup.models import Chat, Customer, DeviceClass, Tenant
from followup.notify import email
from followup.queue import enqueue
from followup.services import customers
from followup.services.tenant_settings import allowed_origin_of

# Seconds before RQ tries a failed send again.
RETRY_INTERVALS_S = (10, 30, 60)
# RQ logs a job's description, by default its call with the arguments: an email here.
DESCRIPTION = "email a customer's login link"

DEVICES = {
    DeviceClass.MOBILE: "a phone",
    DeviceClass.TABLET: "a tablet",
    DeviceClass.DESKTOP: "a computer",
}


def queue_login_link(chat_id: int, address: str, code_hash: str) -> None:
    """Queue the link for `address`, bound to the code (its hash) the chat shows."""
    enqueue(
        email_login_link,
        chat_id,
        address,
        code_hash,
        description=DESCRIPTION,
        retry=Retry(max=len(RETRY_INTERVALS_S), interval=list(RETRY_INTERVALS_S)),
    )


def _where_asked(chat: Chat, tenant: Tenant) -> str:
    """Which site and device asked, so the reader tells their own request from somebody
    else's. The page address is the visitor's to write: the site is named only when it
    is one the business allowed the widget on, so the email carries no visitor's words."""
    origin = allowed_origin_of(tenant, chat.page_url)
    device = DEVICES.get(chat.device)
    return (f"on {origin}" if origin else "on our website") + (f" from {device}" if device else "")


def email_login_link(chat_id: int, address: str, code_hash: str) -> None:
    # A new name for new arguments: a job queued before the upgrade, under an older
    # name, fails instead of reading its arguments as these.
    # The link is made here and travels in no job's arguments; only its hash is stored.
    issued = customers.issue_login_link(chat_id, address, code_hash)
    if issued is None:
        return
    row, link = issued
    customer = db.session.get(Customer, row.customer_id)
    chat = db.session.get(Chat, row.chat_id)
    tenant = db.session.get(Tenant, customer.tenant_id)
    _send(customer, tenant, chat, link, asked_at=row.created_at)


def _send(customer: Customer, tenant: Tenant, chat: Chat, link: str, asked_at: datetime) -> None:
    email.hand_over(
        MailMessage(
            subject=f"Your login link for {tenant.name}",
            recipients=[customer.email],
            body=(
                # No name: whoever first typed this address chose it, and this email
                # must carry nobody's words to an address nobody proved.
                "Hello,\n\n"
                f"Somebody asked for a login link to the chat with {tenant.name} "
                f"{_where_asked(chat, tenant)}, at {asked_at:%Y-%m-%d %H:%M} UTC.\n\n"
                f"If that was you, open this link and type the code shown in that chat "
                f"window:\n{link}\n\n"
                "It works once and expires in 30 minutes.\n\n"
                "If you did not ask for it, ignore this email: without the code shown in "
                "the chat that asked, nobody can log in with it.\n"
            ),
        ),
        f"login-link-customer-{customer.id}",
    )
