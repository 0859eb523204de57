"""Field validators shared by every way data comes in (forms, API, widget)."""

import re

import email_validator
import phonenumbers

from followup.errors import ValidationFailed


def clean_text(value: object, field: str, *, required: bool, max_length: int) -> str | None:
    """Strip a text field and check presence and length; errors name the field."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValidationFailed({field: "Must be text."})
    if not text:
        if required:
            raise ValidationFailed({field: "This field is required."})
        return None
    if len(text) > max_length:
        raise ValidationFailed({field: f"Must be at most {max_length} characters."})
    return text


MAX_SEARCH_CHARS = 200


def search_text(q: object) -> str:
    """What a list's search box sent, stripped ("" for none or for anything but text);
    refused past MAX_SEARCH_CHARS, which no name, email or reason needs."""
    text = q.strip() if isinstance(q, str) else ""
    if len(text) > MAX_SEARCH_CHARS:
        raise ValidationFailed({"q": f"Search is limited to {MAX_SEARCH_CHARS} characters."})
    return text


# ASCII digits, at most ten (every 32-bit id): int() would also take " 1", "+1", "1_0"
# and Unicode digits, and str.isdigit() lets through some that int() then refuses ("²").
_WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")


def whole_number(text: object, maximum: int) -> int | None:
    """`text` as a whole number from 0 to `maximum`; None for anything else."""
    if not isinstance(text, str) or not _WHOLE_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if number <= maximum else None


def normalize_email(value: str, field: str = "email") -> str:
    """A valid address, lowercased: one person, one key, however they typed it."""
    try:
        result = email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise ValidationFailed({field: f"Enter a valid email address ({exc})."}) from exc
    return result.normalized.lower()


def normalize_phone(value: str, field: str = "phone") -> str:
    """Return the number in E.164; it must carry its country code."""
    message = "Enter a valid phone number with its country code, e.g. +1 415 555 0100."
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed({field: message}) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed({field: message})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def international_phone(e164: str) -> str:
    """A stored E.164 number as people read it, e.g. "+44 20 7183 8750"."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
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
