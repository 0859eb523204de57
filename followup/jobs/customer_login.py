"""Sending a customer's one-time login link."""

from flask_mail import Message as MailMessage

from followup.extensions import db
from followup.models import Customer, Tenant
from followup.notify import email


def send_login_link(customer_id: int, link: str) -> None:
    # The link travels in the job's arguments because only its hash is stored;
    # it works once and expires in 30 minutes.
    customer = db.session.get(Customer, customer_id)
    tenant = db.session.get(Tenant, customer.tenant_id)
    email.hand_over(
        MailMessage(
            subject=f"Your login link for {tenant.name}",
            recipients=[customer.email],
            body=(
                f"Hello {customer.name or ''},\n\n"
                f"Open this link to log in to the chat with {tenant.name}:\n{link}\n\n"
                "It works once and expires in 30 minutes. If you did not ask for it, ignore "
                "this email.\n"
            ),
        ),
        f"login-link-customer-{customer_id}",
    )
