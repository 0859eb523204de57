"""Telling chats and customers apart: what each is called, and where a widget chat started.

`display_name` is the one rule for naming a chat's client wherever chats or customers
are listed (chat page, Auto Follow-up dashboard, an employee's chats, Users), so a
name once known reads the same everywhere.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import String, literal_column

from followup.locales import (
    Language,
    choose_language,
    staff_gettext,
    supported_language,
)
from followup.models import Channel, Chat, Customer, DeviceClass, Tenant
from followup.services.validation import international_phone

LABEL_PREFIX = "Visitor "
# A web chat's label in SQL, for searches.
LABEL_SQL = literal_column(f"'{LABEL_PREFIX}'", String) + Chat.visitor_code
MAX_ADDRESS_CHARS = 2000
MAX_LANGUAGE_CHARS = 35
# A language tag as browsers report it (BCP 47): "en", "en-GB", "zh-Hant-TW".
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
# Spaces and control characters: a browser sends them percent-encoded, if at all.
_NOT_IN_ADDRESS = re.compile(r"[\x00-\x20\x7f]")
# Tablets that say so, and Android without "Mobi" (Android tablets leave it out).
_TABLET = re.compile(r"iPad|Tablet(?! PC)|Kindle|Silk/|PlayBook|Android(?!.*Mobi)")


def customer_name(customer: Customer) -> str:
    # A website customer may come with neither; the website's id then names them.
    return (
        customer.name
        or customer.email
        or staff_gettext("Website customer %(id)s", id=customer.external_id)
    )


def chat_label(chat: Chat) -> str:
    """The chat's own short label: "Visitor 4F2A", or the number of an SMS chat."""
    if chat.channel == Channel.SMS and chat.phone:
        return international_phone(chat.phone)
    return LABEL_PREFIX + chat.visitor_code


def display_name(chat: Chat) -> str:
    """The client's name once known (the customer the chat belongs to, else what the
    website said about the visitor, kept as the title), else the chat's label."""
    if chat.customer is not None:
        return customer_name(chat.customer)
    # An SMS chat's title is its bare number, kept for search; its label formats it.
    title = chat.title if chat.title != chat.phone else ""
    return title or chat_label(chat)


def web_address(value: object) -> str | None:
    """The origin and path of an http(s) address, at most MAX_ADDRESS_CHARS; None for
    anything else. Its query and #fragment are dropped: they can carry a reset token,
    a sign-in token or an email, and staff see what is kept."""
    if not isinstance(value, str) or _NOT_IN_ADDRESS.search(value.strip()):
        return None
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    address = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return address if len(address) <= MAX_ADDRESS_CHARS else None


def browser_language(value: object) -> str | None:
    if isinstance(value, str) and len(value) <= MAX_LANGUAGE_CHARS:
        return value if _LANGUAGE.fullmatch(value) else None
    return None


def device_class(user_agent: object) -> DeviceClass | None:
    """Mobile, tablet or desktop from a browser's User-Agent ("Mobi" means a phone, as
    MDN advises); None when it is no browser's, e.g. a server calling the API."""
    if not isinstance(user_agent, str) or not user_agent.startswith("Mozilla/"):
        return None
    if _TABLET.search(user_agent):
        return DeviceClass.TABLET
    if "Mobi" in user_agent or "Opera Mini" in user_agent:
        return DeviceClass.MOBILE
    return DeviceClass.DESKTOP


@dataclass(frozen=True)
class Visit:
    """Where a widget chat started, as the browser reported it. A value that is missing
    or not what it should be is None, never an error: a visitor must always be able to
    chat, whatever a website sends."""

    page_url: str | None = None
    referrer: str | None = None
    language: str | None = None
    device: DeviceClass | None = None
    # The language the host page asked for (`FollowupWidget.locale`) and the browser's
    # best one of ours: with the business's default they choose the chat's language.
    asked_locale: Language | None = None
    browser_locale: Language | None = None

    @classmethod
    def reported(
        cls,
        page_url: object,
        referrer: object,
        language: object,
        user_agent: object,
        asked_locale: object = None,
        browser_locale: object = None,
    ) -> "Visit":
        return cls(
            web_address(page_url),
            web_address(referrer),
            browser_language(language),
            device_class(user_agent),
            supported_language(asked_locale),
            supported_language(browser_locale),
        )

    def locale_for(self, tenant: Tenant) -> Language:
        """The language the chat of this visit is served in."""
        return choose_language(self.asked_locale, self.browser_locale, tenant.visitor_locale)
