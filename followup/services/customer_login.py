"""Signing a chat in: the website's signed customer, and one-time login links from
the widget (`chat_identity` reads the result).

A chat is signed in as a customer in two ways only: the website signed the
visitor's id (the customer keyed by (tenant, external id)), or somebody proved an
email by opening the login link the chat asked for *and* typing the code that chat
showed. Nothing unsigned (an email, a name a website or a visitor typed) ever
signs a chat in.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext, ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from followup.clock import utcnow
from followup.errors import NotFound, ValidationFailed
from followup.extensions import db
from followup.locales import in_language, mark
from followup.models import (
    Chat,
    Customer,
    CustomerLoginToken,
    DeviceClass,
    Role,
    Tenant,
)
from followup.notify import email as notify_email
from followup.notify import sent_lately
from followup.queue import queue_login_link
from followup.services import messages
from followup.services.queries import lock_row
from followup.services.tenant_settings import allowed_origin_of
from followup.services.validation import clean_text, normalize_email

LOGIN_LINK_TTL = timedelta(minutes=30)
# The code the asking chat shows: no 0/O, 1/I/L or U, so it reads and types back right.
LOGIN_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LOGIN_CODE_LENGTH = 6
# Wrong codes a link takes before it stops working: guessing one of 30**6 codes in
# five tries is hopeless.
MAX_WRONG_CODES = 5
DEAD_LINK = mark("This login link is invalid, used or expired. Ask for a new one.")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_link_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/customer-login/{token}"


# --- the website's signed customer ------------------------------------------------------------


def website_customer(tenant_id: int, visitor: dict) -> Customer | None:
    """The customer the website's signed id names (None when the id is not signed):
    found, or made on first sight. The email, name and phone the website sent with it
    are not signed: they only fill an empty record, never find one."""
    external_id = visitor.get("id")
    if not visitor.get("verified") or not external_id:
        return None
    found = _customer_with_external_id(tenant_id, external_id)
    if found is not None:
        return found
    customer = Customer(
        tenant_id=tenant_id,
        external_id=external_id,
        email=visitor.get("email") or "",
        name=visitor.get("name") or "",
        phone=visitor.get("phone"),
    )
    try:
        with db.session.begin_nested():  # two first chats at once: one makes it
            db.session.add(customer)
    except IntegrityError:
        return _customer_with_external_id(tenant_id, external_id)
    return customer


def add_customer_with_email(tenant_id: int, email: str, name: str, phone: str | None) -> Customer:
    """A new customer for (tenant, email); when another request made it a moment ago (two
    creates at once for a new address), that one, instead of a server error."""
    customer = Customer(tenant_id=tenant_id, email=email, name=name, phone=phone)
    try:
        with db.session.begin_nested():
            db.session.add(customer)
    except IntegrityError:
        found = customer_with_email(tenant_id, email)
        if found is None:  # not the (tenant, email) index that refused it
            raise
        return found
    return customer


def _customer_with_external_id(tenant_id: int, external_id: str) -> Customer | None:
    return db.session.scalar(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.external_id == external_id)
    )


def customer_with_email(tenant_id: int, email: str) -> Customer | None:
    """The customer keyed by this email. A website customer is never found by email:
    the email on it is whatever the website or the visitor wrote, unproven."""
    return db.session.scalar(
        select(Customer).where(
            Customer.tenant_id == tenant_id,
            Customer.external_id.is_(None),
            Customer.email == email,
        )
    )


# --- login links bound to the chat that asked -------------------------------------------------


def new_login_code() -> str:
    return "".join(secrets.choice(LOGIN_CODE_ALPHABET) for _ in range(LOGIN_CODE_LENGTH))


def request_login_link(chat: Chat, email: object) -> str:
    """Have a one-time login link emailed if the chat's business knows this email;
    returns the code the chat shows, which whoever opens the link must type.

    The answer (a code) is the same whether or not the email is known, and so is the
    work: the request only queues the job, which looks the customer up. Nobody can
    probe which addresses are customers, by the answer or by its time.
    """
    address = normalize_email(
        clean_text(email, "email", mark("Email"), required=True, max_length=320)
    )
    code = new_login_code()
    queue_login_link(chat.id, address, _hash(code))
    return code


def issue_login_link(
    chat_id: int, address: str, code_hash: str
) -> tuple[CustomerLoginToken, str] | None:
    """For the job: the link's row (its customer, chat and time) and its one-time URL,
    bound to the code the asking chat shows; None when there is nothing to send (no
    such customer, the chat is gone, or the address had its share of links this hour).

    Run again (a retry after a failed send), it gives the same link row a new token:
    a link that may not have arrived dies, and the address's share is not spent twice.
    """
    chat = db.session.get(Chat, chat_id)
    customer = customer_with_email(chat.tenant_id, address) if chat is not None else None
    if customer is None:
        return None
    row = _link_asked_for(chat, customer, code_hash)
    if row is None:
        if _login_links_lately(customer) >= current_app.config["CUSTOMER_LOGIN_LINKS_PER_HOUR"]:
            return None
        row = CustomerLoginToken(
            customer_id=customer.id,
            chat_id=chat.id,
            code_hash=code_hash,
            expires_at=utcnow() + LOGIN_LINK_TTL,
        )
        db.session.add(row)
    token = secrets.token_urlsafe(32)
    row.token_hash = _hash(token)
    db.session.commit()
    return row, login_link_url(token)


# Where a login link was asked for, as its email says it ("… on shop.example from a phone").
DEVICES = {
    DeviceClass.MOBILE: mark("from a phone"),
    DeviceClass.TABLET: mark("from a tablet"),
    DeviceClass.DESKTOP: mark("from a computer"),
}


def email_login_link(chat_id: int, address: str, code_hash: str) -> None:
    """The job's work: email the link if there is one to send (`issue_login_link`). The
    link is made here and travels in no job's arguments; only its hash is stored. The
    email, and the page its link opens, are in the chat's language."""
    issued = issue_login_link(chat_id, address, code_hash)
    if issued is None:
        return
    row, link = issued
    customer = db.session.get(Customer, row.customer_id)
    chat = db.session.get(Chat, row.chat_id)
    tenant = db.session.get(Tenant, customer.tenant_id)
    with in_language(chat.locale):
        message = notify_email.login_link(
            customer.email,
            tenant.name,
            _where_asked(chat, tenant),
            link,
            asked_at=notify_email.customer_datetime(row.created_at, tenant),
        )
    notify_email.hand_over(message, f"login-link-customer-{customer.id}")


def _where_asked(chat: Chat, tenant: Tenant) -> str:
    """Which site and device asked, so the reader tells their own request from somebody
    else's. The page address is the visitor's to write: the site is named only when it
    is one the business allowed the widget on, so the email carries no visitor's words."""
    origin = allowed_origin_of(tenant, chat.page_url)
    where = gettext("on %(site)s", site=origin) if origin else gettext("on our website")
    device = DEVICES.get(chat.device)
    return f"{where} {gettext(device)}" if device else where


def _link_asked_for(chat: Chat, customer: Customer, code_hash: str) -> CustomerLoginToken | None:
    return db.session.scalar(
        select(CustomerLoginToken).where(
            CustomerLoginToken.chat_id == chat.id,
            CustomerLoginToken.customer_id == customer.id,
            CustomerLoginToken.code_hash == code_hash,
        )
    )


def _login_links_lately(customer: Customer) -> int:
    """Login links made for this customer (one tenant, one address) in the last hour."""
    return sent_lately(CustomerLoginToken.created_at, CustomerLoginToken.customer_id == customer.id)


def _is_usable(row: CustomerLoginToken | None) -> bool:
    return (
        row is not None
        and row.used_at is None
        and row.wrong_codes < MAX_WRONG_CODES
        and row.expires_at >= utcnow()
    )


def link_locale(token: str) -> str | None:
    """The language of the chat that asked for this link (used or not): its page is in it."""
    return db.session.scalar(
        select(Chat.locale)
        .join(CustomerLoginToken, CustomerLoginToken.chat_id == Chat.id)
        .where(CustomerLoginToken.token_hash == _hash(token))
    )


def _usable_link(token: str) -> CustomerLoginToken:
    row = db.session.scalar(
        select(CustomerLoginToken).where(CustomerLoginToken.token_hash == _hash(token))
    )
    if not _is_usable(row):
        raise NotFound(DEAD_LINK)
    return row


def login_link_customer(token: str) -> Customer:
    """Whom a still-usable link would log in, without using it up."""
    return db.session.get(Customer, _usable_link(token).customer_id)


def _typed_code(code: object) -> str:
    """The code as typed, in the form it was issued: capitals, no spaces or dashes."""
    if not isinstance(code, str) or not code.isascii():
        return ""
    return "".join(code.split()).replace("-", "").upper()


def _code_matches(row: CustomerLoginToken, code: object) -> bool:
    typed = _typed_code(code)
    if not typed or row.code_hash is None:  # a link from before codes: none matches
        return False
    return hmac.compare_digest(_hash(typed), row.code_hash)


def _wrong_code(row: CustomerLoginToken) -> None:
    row.wrong_codes += 1
    db.session.commit()
    left = MAX_WRONG_CODES - row.wrong_codes
    if left <= 0:
        raise NotFound(DEAD_LINK)
    wrong = gettext("That is not the code shown in the chat window.")
    tries = ngettext("You have %(num)d more try.", "You have %(num)d more tries.", left)
    raise ValidationFailed({"code": f"{wrong} {tries}"}, wrong)


def consume_login_link(token: str, code: object) -> Customer:
    """Log the customer in to the chat that asked for the link, if the code that chat
    showed was typed; the link then stops working. A wrong code counts, and after
    MAX_WRONG_CODES the link is dead: whoever got a link they did not ask for cannot
    log that chat in."""
    found = _usable_link(token)
    # Locked and read afresh: two tabs posting at once take turns over the count.
    row = lock_row(CustomerLoginToken, found.id, CustomerLoginToken.wrong_codes)
    if not _is_usable(row):
        db.session.rollback()
        raise NotFound(DEAD_LINK)
    if not _code_matches(row, code):
        _wrong_code(row)
    row.used_at = utcnow()
    customer = db.session.get(Customer, row.customer_id)
    customer.proved_email()
    if row.chat_id is not None:
        chat = db.session.get(Chat, row.chat_id)
        chat.customer_id = customer.id
        logged_in = gettext("Logged in as %(email)s.", email=customer.email)
        messages.append(chat, Role.SYSTEM, logged_in)
    db.session.commit()
    return customer
