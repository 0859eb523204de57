"""The languages a business's customers are served in: the widget, the emails and SMS to
them, the customer login page. The admin panel stays English, ready for a catalogue of
its own: its texts in Python are marked `staff_text` and shown with `staff_gettext`.

A locale is chosen once per visitor (see `followup.web.locale.visitor_locale`) and kept
on the chat, so later pages, emails, SMS and reminders to that customer use it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from babel.messages.extract import extract_python
from flask_babel import force_locale, gettext, ngettext


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


def staff_text(message: str) -> str:
    """Marks a text staff read in the admin panel (a label, a check's advice) that is kept
    as a constant in English and shown with `staff_gettext(text)`. `make admin-pot`
    extracts it into translations/admin.pot; the customers' catalogue (babel.cfg) never
    sees it, as no catalogue there needs to translate it."""
    return message


def staff_gettext(message: str, **values: object) -> str:
    """A text staff read, as the admin panel shows it: through gettext, so a catalogue
    for the panel translates it once there is one (today's English until then), with
    its values put in by name (`%(name)s`), never pieced together. `mark`ed texts that
    customers read too are shown with it as well."""
    return gettext(message, **values)


def staff_ngettext(singular: str, plural: str, num: int, **values: object) -> str:
    """`staff_gettext` for a text whose words follow a number (`%(num)s`)."""
    return ngettext(singular, plural, num, **values)


# The staff markers, each reported as the gettext call Babel knows its arguments of.
STAFF_KEYWORDS = {"staff_text": "gettext", "staff_gettext": "gettext", "staff_ngettext": "ngettext"}


def extract_staff_texts(fileobj, keywords, comment_tags, options):
    """Babel's Python extractor limited to the staff markers (babel-admin.cfg): the other
    gettext calls in Python are the customers' texts, which babel.cfg extracts."""
    for lineno, name, messages, comments in extract_python(
        fileobj, STAFF_KEYWORDS, comment_tags, options
    ):
        yield lineno, STAFF_KEYWORDS[name], messages, comments
