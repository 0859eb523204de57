"""Field validators shared by every way data comes in (forms, API, widget).

Every message is ours and names the field as its form labels it ("Email: enter an
address like name@example.com."), so it reads the same beside the field, in an
alert, in a JSON error or in a chat; `field` is only the key it is filed under.
"""

import re
from functools import lru_cache

import email_validator
import phonenumbers
from flask_babel import gettext

from followup.errors import ValidationFailed
from followup.locales import mark, staff_gettext, staff_text

# The one rule for the characters of a text we are sent: any Unicode character but the
# control characters (C0 save tab, line feed and carriage return; DEL; C1) and lone
# surrogates. NUL is among them, which PostgreSQL cannot store; a lone surrogate is not
# Unicode, and nothing encodes it. The web refuses a request holding one
# (`web.requests`); the SMS webhook strips them, since refusing would lose the text
# (a CR is kept there too, as a line break). As a regular expression's class, which
# the OpenAPI document repeats (its JSON text cannot hold a lone surrogate, so the
# schema's class leaves them out).
REFUSED_CHARACTERS_CLASS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_REFUSED_CHARACTERS = re.compile(rf"[{REFUSED_CHARACTERS_CLASS}\ud800-\udfff]")


def has_refused_characters(text: str) -> bool:
    return _REFUSED_CHARACTERS.search(text) is not None


def without_refused_characters(text: str) -> str:
    """`text` with the refused characters removed: for the SMS webhook, which must not
    refuse a text."""
    return _REFUSED_CHARACTERS.sub("", text)


def problem(label: str, advice: str) -> str:
    """A field's error as people read it: the field as its form labels it, then what to do.
    In the language in force: a visitor reads the widget's form errors in theirs (label
    and advice are translated where the catalogues have them; the admin stays English)."""
    return gettext("%(label)s: %(advice)s", label=gettext(label), advice=gettext(advice))


def shorter(max_length: int, length: int) -> str:
    """The advice for a text that is too long."""
    return gettext(
        "keep it to %(limit)s characters or fewer (this has %(length)s).",
        limit=f"{max_length:,}",
        length=f"{length:,}",
    )


def clean_text(
    value: object, field: str, label: str, *, required: bool, max_length: int
) -> str | None:
    """Check presence and length, and strip a text field. The length is the text's as
    sent, white space included: the API's document states it as `maxLength`."""
    if value is None:
        value = ""
    elif not isinstance(value, str):
        raise ValidationFailed({field: problem(label, mark("enter it as text."))})
    text = value.strip()
    if not text:
        if required:
            raise ValidationFailed({field: problem(label, mark("please fill this in."))})
        return None
    if len(value) > max_length:
        raise ValidationFailed({field: problem(label, shorter(max_length, len(value)))})
    return text


# For a JSON body: its key is the API's name, which the client sent and will look up.
UNKNOWN_FIELD = staff_text("There is no field of this name: check its spelling.")
MAX_SEARCH_CHARS = 200


def search_text(q: object) -> str:
    """What a list's search box sent, stripped ("" for none or for anything but text);
    refused past MAX_SEARCH_CHARS, which no name, email or reason needs."""
    text = q.strip() if isinstance(q, str) else ""
    if len(text) > MAX_SEARCH_CHARS:
        advice = shorter(MAX_SEARCH_CHARS, len(text))
        raise ValidationFailed({"q": problem(staff_text("Search"), advice)})
    return text


def status_filter(value: object, statuses: tuple[str, ...]) -> str | None:
    """A list's status filter: None for all, else one of `statuses`."""
    if value in (None, "", "all"):
        return None
    if value not in statuses:
        known = ", ".join(("all", *statuses))
        advice = staff_gettext("choose one of %(choices)s.", choices=known)
        raise ValidationFailed({"status": problem(staff_text("Status"), advice)})
    return value


# ASCII digits, at most ten (every 32-bit id): int() would also take " 1", "+1", "1_0"
# and Unicode digits, and str.isdigit() lets through some that int() then refuses ("²").
_WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")


def whole_number(text: object, maximum: int) -> int | None:
    """`text` as a whole number from 0 to `maximum`; None for anything else."""
    if not isinstance(text, str) or not _WHOLE_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if number <= maximum else None


def number_in_range(value: object, minimum: int, maximum: int) -> int | None:
    """A whole number from `minimum` to `maximum`, sent as a JSON integer or as text
    (a form, a URL); None for anything else (a JSON true is no number)."""
    if isinstance(value, bool):
        return None
    number = value if isinstance(value, int) else whole_number(value, maximum)
    return number if number is not None and minimum <= number <= maximum else None


def normalize_email(value: str, field: str = "email", label: str = mark("Email")) -> str:
    """A valid address, lowercased: one person, one key, however they typed it.
    email-validator's reasons are written for developers: people get ours."""
    try:
        result = email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        advice = mark("enter an address like name@example.com.")
        raise ValidationFailed({field: problem(label, advice)}) from exc
    return result.normalized.lower()


def _phone_number(value: str) -> phonenumbers.PhoneNumber | None:
    """The number, if `value` is a valid one with its country code."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalize_phone(value: str, field: str = "phone", label: str = mark("Phone")) -> str:
    """Return the number in E.164 (as it is stored); it must carry its country code."""
    number = _phone_number(value)
    if number is None:
        advice = mark("enter the number with its country code, like +1 415 555 0100.")
        raise ValidationFailed({field: problem(label, advice)})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)  # every card of a list shows one: parse each number once
def international_phone(value: str | None) -> str:
    """A stored (E.164) number as people read it, e.g. +44 20 7183 8750; anything that
    is not a valid number is shown as it is."""
    number = _phone_number(value) if value else None
    if number is None:
        return value or ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


class FieldErrors:
    """Gathers every field's error so a form shows them all at once, not one by one."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def check(self, validator, *args, **kwargs):
        try:
            return validator(*args, **kwargs)
        except ValidationFailed as exc:
            self.errors.update(exc.fields)
            return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
