"""Sending a customer's one-time login link."""

from urllib.parse import urlsplit

from flask_mail import Message as MailMessage

from followup.extensions import db
from followup.models import Chat, Customer, CustomerLoginToken, DeviceClass, Tenant
from followup.notify import email

DEVICES = {
    DeviceClass.MOBILE: "a phone",
    DeviceClass.TABLET: "a tablet",
    DeviceClass.DESKTOP: "a computer",
}


def _where_asked(chat: Chat | None) -> str:
    """Which site and device asked, as the chat recorded them (page_url keeps only an
    origin and path, see services/visitors.py): the reader tells their own request
    from somebody else's."""
    page = urlsplit(chat.page_url) if chat is not None and chat.page_url else None
    site = f"{page.scheme}://{page.netloc}" if page else "the chat window"
    device = DEVICES.get(chat.device if chat is not None else None)
    return f"on {site}" + (f" from {device}" if device else "")


def send_bound_login_link(login_token_id: int, link: str) -> None:
    # A new name for new arguments: a job queued before the upgrade, as
    # send_login_link(customer_id, link), fails instead of reading a customer's id
    # as a link's (its link had no code, so it could not be used anyway).
    # The link travels in the job's arguments because only its hash is stored;
    # it works once, with the code the asking chat shows, and expires in 30 minutes.
    row = db.session.get(CustomerLoginToken, login_token_id)
    if row is None:  # its chat was deleted since: there is nothing to log in to
        return
    customer = db.session.get(Customer, row.customer_id)
    tenant = db.session.get(Tenant, customer.tenant_id)
    chat = db.session.get(Chat, row.chat_id) if row.chat_id is not None else None
    asked_at = row.created_at.strftime("%Y-%m-%d %H:%M UTC")
    email.hand_over(
        MailMessage(
            subject=f"Your login link for {tenant.name}",
            recipients=[customer.email],
            body=(
                # No name: whoever first typed this address chose it, and this email
                # must carry nobody's words to an address nobody proved.
                "Hello,\n\n"
                f"Somebody asked for a login link to the chat with {tenant.name} "
                f"{_where_asked(chat)}, at {asked_at}.\n\n"
                f"If that was you, open this link and type the code shown in that chat "
                f"window:\n{link}\n\n"
                "It works once and expires in 30 minutes.\n\n"
                "If you did not ask for it, ignore this email: without the code shown in "
                "the chat that asked, nobody can log in with it.\n"
            ),
        ),
        f"login-link-customer-{customer.id}",
    )
