"""Secrets from the configuration never reach either text a failure is stored with:
the staff words or the provider's technical text (notify/failures.py)."""

import smtplib

import pytest
from twilio.base.exceptions import TwilioRestException

from followup.config import TestConfig
from followup.factory import create_app
from followup.notify import failures

MAIL_PASSWORD = "mail-pass-4711"  # made-up secrets to look for
TWILIO_AUTH_TOKEN = "twilio-token-0815"
# A server that quotes what it was given back in its refusal.
QUOTED = f"relay denied (auth {MAIL_PASSWORD} / {TWILIO_AUTH_TOKEN})"


@pytest.fixture
def app_context():
    app = create_app(TestConfig)
    app.config.update(MAIL_PASSWORD=MAIL_PASSWORD, TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN)
    with app.app_context():
        yield


def refused_address() -> Exception:
    refusal = smtplib.SMTPRecipientsRefused({"sam@example.com": (550, QUOTED.encode())})
    return failures.smtp_failure(refusal, "mail.example.com:25")


def refused_sms() -> Exception:
    refusal = TwilioRestException(400, "https://api.twilio.com/Messages.json", QUOTED, 30999)
    return failures.twilio_refusal(refusal, "+14155550123", "+14155550100")


@pytest.mark.parametrize(
    ("failure", "staff_words", "technical_text"),
    [
        (
            refused_address,
            "The mail server refused the address sam@example.com: 550 relay denied "
            "(auth [hidden] / [hidden]).",
            "SMTPRecipientsRefused: {'sam@example.com': (550, b'relay denied (auth [hidden] / "
            "[hidden])')}",
        ),
        (
            refused_sms,
            "Twilio refused the message: relay denied (auth [hidden] / [hidden])",
            "Twilio answered 400 (error 30999): relay denied (auth [hidden] / [hidden])",
        ),
    ],
    ids=["smtp", "twilio"],
)
def test_secrets_in_a_providers_words_are_hidden_in_both_texts(
    app_context, failure, staff_words, technical_text
):
    staff, technical = failures.explain(failure())
    assert (staff, technical) == (staff_words, technical_text)
    for secret in (MAIL_PASSWORD, TWILIO_AUTH_TOKEN):
        assert secret not in staff + technical
