"""Who the visitor is and what the follow-up form is pre-filled with.

The website's HMAC signs the customer's id and nothing else, its JWT the id, name,
email and phone (services/widget_identity.py): either signs the chat in as the
customer with that (tenant, id); the email, name and phone are used to pre-fill
only, like every word of the website's.

Trust order, per field: the customer the chat is signed in as (the website's
signed id, or a login link), then what the website sent, then what the customer
wrote earlier in the chat. Pre-fill never submits anything by itself.
"""

import logging
import re
from dataclasses import asdict, dataclass

import phonenumbers

from followup.errors import ValidationFailed
from followup.models import Chat, Message, Role, Tenant
from followup.services.chat_identity import signed_in_customer
from followup.services.validation import normalize_email, normalize_phone
from followup.services.widget_identity import TokenRefused, signature_matches, verified_claims
from followup.services.widget_identity import (  # where callers have always found it
    identity_signature as identity_signature,
)

log = logging.getLogger(__name__)

CONTACT_FIELDS = ("name", "email", "phone")
_EMAIL_CANDIDATE = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# A name as people write one: one to three capitalised words.
NAME_SHAPE = r"([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,2})"
_NAME_INTRO = re.compile(r"\b(?i:my name is|my name's|this is|i am|i'm|call me)\s+" + NAME_SHAPE)


def _clean_or_none(normalize, value) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return normalize(value.strip())
    except ValidationFailed:
        return None


def visitor_from_website(tenant: Tenant, customer: object) -> dict:
    """What the website passed as `FollowupWidget.customer`; `verified`: it proves who the
    visitor is (a valid token, or a signature matching the id).

    With a `token` (a JWT) the token alone counts: its `sub`, `name`, `email` and `phone`.
    Otherwise the id and its HMAC `signature`, which says nothing of the other fields.
    Bad or missing values are dropped rather than refused: a visitor must always be
    able to chat, whatever the website's integration sends (unless the business
    requires a verified identity: `widget_identity.require_verified`).
    """
    if not isinstance(customer, dict):
        return {}
    if "token" in customer:
        return _visitor_from_token(tenant, customer.get("token"))
    external_id = str(customer.get("id") or "")[:200]
    verified = signature_matches(tenant, external_id, customer.get("signature"))
    return {"id": external_id or None, **_contact_of(customer), "verified": verified}


def _contact_of(fields: dict) -> dict:
    name = fields.get("name")
    return {
        "name": name.strip()[:200] if isinstance(name, str) and name.strip() else None,
        "email": _clean_or_none(normalize_email, fields.get("email")),
        "phone": _clean_or_none(normalize_phone, fields.get("phone")),
    }


def _visitor_from_token(tenant: Tenant, token: object) -> dict:
    """A refused token is no identity at all: nothing in it can be trusted, not even for
    pre-filling. Why it was refused goes to the log (never the token)."""
    try:
        claims = verified_claims(tenant, token)
    except TokenRefused as refused:
        log.info("Widget identity token refused for tenant %s: %s", tenant.slug, refused.refusal)
        return {"verified": False}
    return {"id": claims["sub"], **_contact_of(claims), "verified": True}


@dataclass(frozen=True)
class Contact:
    name: str | None = None
    email: str | None = None
    phone: str | None = None


def typed_email(text: str) -> str | None:
    """The last valid email address written in this text."""
    emails = [_clean_or_none(normalize_email, c) for c in _EMAIL_CANDIDATE.findall(text)]
    return next((email for email in reversed(emails) if email), None)


def typed_phone(text: str) -> str | None:
    """The last phone number written in this text with its country code, in E.164."""
    numbers = [match.number for match in phonenumbers.PhoneNumberMatcher(text, None)]
    if not numbers:
        return None
    return phonenumbers.format_number(numbers[-1], phonenumbers.PhoneNumberFormat.E164)


def mentioned_in(messages: list[Message]) -> Contact:
    """The latest name, email and phone the customer typed in the chat, if valid."""
    name = email = phone = None
    for message in messages:
        if message.role != Role.CLIENT:
            continue
        text = message.content
        email = typed_email(text) or email
        phone = typed_phone(text) or phone
        if found := _NAME_INTRO.search(text):
            name = found.group(1)
    return Contact(name, email, phone)


@dataclass(frozen=True)
class Prefill:
    name: str | None
    email: str | None
    phone: str | None

    def form_values(self) -> dict:
        return asdict(self)


def prefill_for(chat: Chat, history: list[Message]) -> Prefill:
    """The one place that applies the trust order to every contact field."""
    customer = signed_in_customer(chat)
    signed_in = (
        Contact(customer.name or None, customer.email or None, customer.phone)
        if customer
        else Contact()
    )
    visitor = chat.visitor or {}
    website = Contact(**{f: visitor.get(f) for f in CONTACT_FIELDS})
    sources = (signed_in, website, mentioned_in(history))
    values = {
        field: next((getattr(s, field) for s in sources if getattr(s, field)), None)
        for field in CONTACT_FIELDS
    }
    return Prefill(**values)
