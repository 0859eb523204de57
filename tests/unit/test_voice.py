"""Spelling an email back and reading contact details from speech (no database needed)."""

import pytest

from followup.errors import ValidationFailed
from followup.services.voice import (
    email_from_speech,
    name_from_speech,
    phone_from_speech,
    spell_email,
)


@pytest.mark.parametrize(
    ("email", "spoken"),
    [
        ("john@example.com", "j-o-h-n at example dot com"),
        ("john.doe@example.com", "j-o-h-n dot d-o-e at example dot com"),
        ("ann+news@example.com", "a-n-n plus n-e-w-s at example dot com"),
        ("r2d2@example.co.uk", "r-2-d-2 at example dot co dot uk"),
        ("mary-jane_w@my-site.org", "m-a-r-y dash j-a-n-e underscore w at my dash site dot org"),
        ("x@example.com", "x at example dot com"),
        ("o'brien@example.ie", "o apostrophe b-r-i-e-n at example dot ie"),
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
        # The two of issue 11: the lead-in was kept as part of the address.
        ("my email is john dot doe at example dot com", "john.doe@example.com"),
        # A filler word that is the address itself, not a lead-in to it.
        ("well.smith at example dot com", "well.smith@example.com"),
        ("well dot smith at example dot com", "well.smith@example.com"),
        ("ok dash go at example dot com", "ok-go@example.com"),
        ("sure, it's well dot smith at example dot com", "well.smith@example.com"),
        ("it's jane dot roe at example dot com", "jane.roe@example.com"),
        ("It is jane dot roe at example dot com", "jane.roe@example.com"),
        ("Sure, it is jane dot roe at example dot com.", "jane.roe@example.com"),
        ("sure it's jane dot roe at example dot com", "jane.roe@example.com"),
        (
            "Yeah it\u2019s jane dot roe at example dot com",
            "jane.roe@example.com",
        ),  # typographic apostrophe
        ("that's jane dot roe at example dot com!", "jane.roe@example.com"),
        ("email: jane dot roe at example dot com", "jane.roe@example.com"),
        ("Email: jane.roe@example.com", "jane.roe@example.com"),
        ("the email is jane dot roe at example dot com", "jane.roe@example.com"),
        ("My e-mail address is jane dot roe at example dot com", "jane.roe@example.com"),
        ("OK, um, my email's jane dot roe at example dot com", "jane.roe@example.com"),
        ("Yes. My email is jane dot roe at example dot com. Thank you.", "jane.roe@example.com"),
        ("jane dot roe at example dot com please", "jane.roe@example.com"),
        # Spoken symbols, in any case; spelled letters join up.
        ("J O H N underscore D O E AT EXAMPLE DOT COM", "john_doe@example.com"),
        ("J. O. H. N. at example dot com", "john@example.com"),
        ("j, o, h, n at example dot com", "john@example.com"),
        ("john hyphen doe at my dash site dot org", "john-doe@my-site.org"),
        ("john Plus Shop at example Dot com", "john+shop@example.com"),
        ("john period doe at example dot com", "john.doe@example.com"),
        ("o apostrophe brien at example dot ie", "o'brien@example.ie"),
        ("its jo at example dot com", "jo@example.com"),  # the apostrophe not heard
    ],
)
def test_email_from_speech(heard, email):
    assert email_from_speech(heard) == email


@pytest.mark.parametrize(
    "heard",
    [
        "john",
        "john at",
        "at example dot com",
        "",
        "it's not sure",
        # Were read as myemailis@… and it's@…, then spelled back.
        "my email is at example dot com",
        "it's at example dot com",
        "sure, it's john at example",
        "my email is",
    ],
)
def test_email_from_speech_refuses_non_addresses(heard):
    with pytest.raises(ValidationFailed):
        email_from_speech(heard)


@pytest.mark.parametrize(
    ("heard", "name"),
    [
        ("Ann Lee", "Ann Lee"),
        ("Ann Lee.", "Ann Lee"),
        ("my name is Ann Lee", "Ann Lee"),
        ("My name's Ann Lee!", "Ann Lee"),
        ("it's Ann Lee", "Ann Lee"),
        ("It is Ann Lee", "Ann Lee"),
        ("Sure, it's Ann Lee.", "Ann Lee"),
        ("yeah, my name is Ann Lee", "Ann Lee"),
        ("name: Ann Lee", "Ann Lee"),
        ("the name's Lee, Ann Lee", "Lee, Ann Lee"),
        ("I'm Ann", "Ann"),
        ("I am Ann", "Ann"),
        ("this is Ann", "Ann"),
        ("call me Ann, please", "Ann"),
        # Names that begin like a lead-in keep it.
        ("Itsuki Sato", "Itsuki Sato"),
        ("Willa Myname", "Willa Myname"),
        ("Okafor Eze", "Okafor Eze"),
        ("yes", ""),
    ],
)
def test_name_from_speech_drops_the_lead_in(heard, name):
    assert name_from_speech(heard) == name


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
