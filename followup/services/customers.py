"""Customers of a tenant: one-time login links from the widget, and their requests."""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from followup.clock import utcnow
from followup.errors import NotFound
from followup.extensions import db
from followup.jobs import enqueue
from followup.jobs.customer_login import send_login_link
from followup.models import Chat, Customer, CustomerLoginToken, FollowUpRequest, Message, Role
from followup.services.validation import clean_text, normalize_email

LOGIN_LINK_TTL = timedelta(minutes=30)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_link_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/customer-login/{token}"


def request_login_link(chat: Chat, email: object) -> None:
    """Email a one-time login link if the chat's business knows this email.

    The answer is the same whether or not it does, so nobody can probe which
    addresses are customers.
    """
    address = normalize_email(clean_text(email, "email", "Email", required=True, max_length=320))
    customer = db.session.scalar(
        select(Customer).where(Customer.tenant_id == chat.tenant_id, Customer.email == address)
    )
    if customer is None:
        return
    token = secrets.token_urlsafe(32)
    db.session.add(
        CustomerLoginToken(
            customer_id=customer.id,
            chat_id=chat.id,
            token_hash=_hash(token),
            expires_at=utcnow() + LOGIN_LINK_TTL,
        )
    )
    db.session.commit()
    enqueue(send_login_link, customer.id, login_link_url(token))


def _usable_link(token: str) -> CustomerLoginToken:
    row = db.session.scalar(
        select(CustomerLoginToken).where(CustomerLoginToken.token_hash == _hash(token))
    )
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        raise NotFound("This login link is invalid, used or expired. Ask for a new one.")
    return row


def login_link_customer(token: str) -> Customer:
    """Whom a still-usable link would log in, without using it up."""
    return db.session.get(Customer, _usable_link(token).customer_id)


def consume_login_link(token: str) -> Customer:
    """Log the customer in to the chat that asked for the link; the link then stops working."""
    row = _usable_link(token)
    row.used_at = utcnow()
    customer = db.session.get(Customer, row.customer_id)
    customer.proved_email()
    if row.chat_id is not None:
        chat = db.session.get(Chat, row.chat_id)
        chat.customer_id = customer.id
        db.session.add(
            Message(chat_id=chat.id, role=Role.SYSTEM, content=f"Logged in as {customer.email}.")
        )
    db.session.commit()
    return customer


def signed_in_customer(chat: Chat) -> Customer | None:
    """The chat's customer when they proved who they are, else None.

    `chat.customer_id` alone is no proof: submitting a form links the chat to the
    customer of whatever email was typed. Proof is a login link opened for this
    chat, or the website's signed identity carrying the customer's email.
    """
    customer = chat.customer
    if customer is None:
        return None
    visitor = chat.visitor or {}
    if visitor.get("verified") and visitor.get("email") == customer.email:
        return customer
    used_link = db.session.scalar(
        select(CustomerLoginToken.id)
        .where(
            CustomerLoginToken.chat_id == chat.id,
            CustomerLoginToken.customer_id == customer.id,
            CustomerLoginToken.used_at.is_not(None),
        )
        .limit(1)
    )
    return customer if used_link is not None else None


def requests_of(chat: Chat) -> list[FollowUpRequest]:
    """The signed-in customer's follow-up requests, newest first (none otherwise)."""
    customer = signed_in_customer(chat)
    if customer is None:
        return []
    return list(
        db.session.scalars(
            select(FollowUpRequest)
            .where(
                FollowUpRequest.tenant_id == chat.tenant_id,
                FollowUpRequest.customer_id == customer.id,
            )
            .order_by(FollowUpRequest.created_at.desc())
            .limit(50)
        )
    )
