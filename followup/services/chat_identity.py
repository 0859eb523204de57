"""Who a chat is signed in as, and what that shows them.

A chat's customer (`chat.customer_id`) is no proof of identity: submitting a form
links the chat to the customer of whatever email was typed. Proof is the website's
signature of the customer's id (`visitor["verified"]`), or a login link used, with its
code, for this chat (`customer_login`).
"""

from sqlalchemy import select

from followup.extensions import db
from followup.models import Chat, Customer, CustomerLoginToken, FollowUpRequest


def _opened_a_login_link(chat: Chat, customer: Customer) -> bool:
    used_link = db.session.scalar(
        select(CustomerLoginToken.id)
        .where(
            CustomerLoginToken.chat_id == chat.id,
            CustomerLoginToken.customer_id == customer.id,
            CustomerLoginToken.used_at.is_not(None),
        )
        .limit(1)
    )
    return used_link is not None


def signed_in_customer(chat: Chat) -> Customer | None:
    """The chat's customer when they proved who they are, else None.

    `chat.customer_id` alone is no proof: submitting a form links the chat to the
    customer of whatever email was typed. Proof is the website's signature of this
    customer's id, or a login link (with its code) used for this chat.
    """
    customer = chat.customer
    if customer is None:
        return None
    if customer.external_id is not None:
        visitor = chat.visitor or {}
        signed = visitor.get("verified") and visitor.get("id") == customer.external_id
        return customer if signed else None
    return customer if _opened_a_login_link(chat, customer) else None


def website_customer_of(chat: Chat) -> Customer | None:
    """The website's signed customer the chat belongs to: its requests are theirs,
    whatever email the form gave."""
    customer = signed_in_customer(chat)
    return customer if customer is not None and customer.external_id is not None else None


def proven_email(chat: Chat) -> str | None:
    """An email somebody in this chat proved is theirs (a login link and its code); a
    website customer's email is not one: the signature covers the id alone."""
    customer = signed_in_customer(chat)
    return customer.email if customer is not None and customer.external_id is None else None


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
