"""Who the visitor is and what the follow-up form is pre-filled with.

The website's HMAC signs the customer's id and nothing else: a valid signature
signs the chat in as the customer with that (tenant, id); the email, name and
phone beside it are the website's word, used to pre-fill only.

Trust order, per field: the customer the chat is signed in as (the website's
signed id, or a login link), then what the website sent, then what the customer
wrote earlier in the chat. Pre-fill never submits anything by itself.
"""

import hashlib
import hmac
import re
from dataclasses import asdict, dataclass

import phonenumbers

from followup.errors import ValidationFailed
from followup.models import Chat, Message, Role, Tenant
from followup.services.chat_identity import signed_in_customer
from followup.services.validation import normalize_email, normalize_phone

CONTACT_FIELDS = ("name", "email", "phone")
_EMAIL_CANDIDATE = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# A name as people write one: one to three capitalised words.
NAME_SHAPE = r"([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,2})"
_NAME_INTRO = re.compile(r"\b(?i:my name is|my name's|this is|i am|i'm|call me)\s+" + NAME_SHAPE)


def identity_signature(widget_secret: str, customer_id: str) -> str:
    """hex(HMAC-SHA256(widget_secret, id)): what the website computes server-side."""
    return hmac.new(widget_secret.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


def _signature_matches(widget_secret: str, external_id: str, signature: object) -> bool:
    """Compared as bytes: `compare_digest` refuses a str with non-ASCII characters, and
    a signature that is not even text is simply no signature."""
    if not external_id or not isinstance(signature, str):
        return False
    try:
        expected = identity_signature(widget_secret, external_id).encode()
        return hmac.compare_digest(signature.encode(), expected)
    except UnicodeEncodeError:  # a lone surrogate: nobody signed that
        return False


def _clean_or_none(normalize, value) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return normalize(value.strip())
    except ValidationFailed:
        return None


def visitor_from_website(tenant: Tenant, customer: object) -> dict:
    """What the website passed as `FollowupWidget.customer`; `verified`: the signature
    matches the id (it says nothing of the other fields).

    Bad or missing values are dropped rather than refused: a visitor must always be
    able to chat, whatever the website's integration sends.
    """
    if not isinstance(customer, dict):
        return {}
    external_id = str(customer.get("id") or "")[:200]
    verified = _signature_matches(tenant.widget_secret, external_id, customer.get("signature"))
    name = customer.get("name")
    return {
        "id": external_id or None,
        "name": name.strip()[:200] if isinstance(name, str) and name.strip() else None,
        "email": _clean_or_none(normalize_email, customer.get("email")),
        "phone": _clean_or_none(normalize_phone, customer.get("phone")),
        "verified": verified,
    }


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
