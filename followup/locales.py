"""The languages a business's customers are served in: the widget, the emails and SMS to
them, the customer login page. The admin panel stays English.

A locale is chosen once per visitor (see `followup.web.locale.visitor_locale`) and kept
on the chat, so later pages, emails, SMS and reminders to that customer use it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from flask_babel import force_locale


class Language(StrEnum):
    ENGLISH = "en"
    GERMAN = "de"
    SPANISH = "es"
    FRENCH = "fr"
    RUSSIAN = "ru"


DEFAULT_LANGUAGE = Language.ENGLISH

# Each in its own words: how the Settings choice and a visitor read it.
NATIVE_NAMES = {
    Language.ENGLISH: "English",
    Language.GERMAN: "Deutsch",
    Language.SPANISH: "Español",
    Language.FRENCH: "Français",
    Language.RUSSIAN: "Русский",
}

# In English: what the model's instructions name (they are written in English).
ENGLISH_NAMES = {
    Language.ENGLISH: "English",
    Language.GERMAN: "German",
    Language.SPANISH: "Spanish",
    Language.FRENCH: "French",
    Language.RUSSIAN: "Russian",
}


def supported_language(value: object) -> Language | None:
    """One of ours for a language tag as websites and browsers write it ("de", "de-AT",
    "pt_BR", "FR"); None for anything else, never an error: a visitor always gets a chat."""
    if not isinstance(value, str) or len(value) > 35:
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    try:
        return Language(primary)
    except ValueError:
        return None


def language_or_default(value: object) -> Language:
    """The stored choice as a Language; English where none (or an unknown one) is stored."""
    return supported_language(value) or DEFAULT_LANGUAGE


def choose_language(asked: object, browser: object, business_default: object) -> Language:
    """The one rule for a visitor's language: the host page's choice
    (`FollowupWidget.locale`), else the browser's, else the business's default for
    visitors, else English. Values we do not serve are passed over quietly."""
    return (
        supported_language(asked)
        or supported_language(browser)
        or supported_language(business_default)
        or DEFAULT_LANGUAGE
    )


@contextmanager
def in_language(locale: object) -> Iterator[Language]:
    """Write to a customer in their chat's language, outside the requests they make (a
    job: the answer to a text, a reminder, an email)."""
    language = language_or_default(locale)
    with force_locale(language.value):
        yield language


def mark(message: str) -> str:
    """Marks a text for the catalogues (extracted as `mark`) that is translated where it
    is shown, with `gettext(text)`: a constant kept in English until then."""
    return message
