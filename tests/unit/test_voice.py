"""Spelling an email back and reading contact details from speech (no database needed)."""

import pytest

from followup.errors import ValidationFailed
from followup.services.voice import email_from_speech, phone_from_speech, spell_email


@pytest.mark.parametrize(
    ("email", "spoken"),
    [
        ("john@example.com", "j-o-h-n at example dot com"),
        ("john.doe@example.com", "j-o-h-n dot d-o-e at example dot com"),
        ("ann+news@example.com", "a-n-n plus n-e-w-s at example dot com"),
        ("r2d2@example.co.uk", "r-2-d-2 at example dot co dot uk"),
        ("mary-jane_w@my-site.org", "m-a-r-y dash j-a-n-e underscore w at my dash site dot org"),
        ("x@example.com", "x at example dot com"),
    ],
)
def test_spell_email(email, spoken):
    assert spell_email(email) == spoken


@pytest.mark.parametrize(
    ("heard", "email"),
    [
        ("john at example dot com", "john@example.com"),
        ("j o h n at example dot com", "john@example.com"),
        ("John.Doe@Example.com", "john.doe@example.com"),  # speech has no case
        ("ann plus news at example dot com", "ann+news@example.com"),
        ("mary dash jane underscore w at my dash site dot org", "mary-jane_w@my-site.org"),
        ("r two d two at example dot co dot uk", "r2d2@example.co.uk"),
        ("john at example dot com.", "john@example.com"),
    ],
)
def test_email_from_speech(heard, email):
    assert email_from_speech(heard) == email


@pytest.mark.parametrize("heard", ["john", "john at", "at example dot com", ""])
def test_email_from_speech_refuses_non_addresses(heard):
    with pytest.raises(ValidationFailed):
        email_from_speech(heard)


@pytest.mark.parametrize(
    ("heard", "phone"),
    [
        ("+1 415 555 0100", "+14155550100"),
        ("plus one four one five five five five zero one zero zero", "+14155550100"),
        ("my number is +44 20 7183 8750", "+442071838750"),
    ],
)
def test_phone_from_speech(heard, phone):
    assert phone_from_speech(heard) == phone
