"""Why a notification failed, in staff words, with the provider's text beside it: each
kind of failure produced for real by the aiosmtpd server or the local Twilio server,
then delivered by the job's own function in this process."""

import logging
import re

import pytest
from flask import current_app

from followup.jobs.notifications import deliver_notifications
from tests.fakes.local_http import closed_port
from tests.helpers.jobs import configure_mail, configure_tenant, row_of

OUTBOX_LOGGER = "followup.services.notifications"

CONTACT_PHONE = "+14155550123"
# Wording does not depend on the database: these run on SQLite only.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def staff_email_failure(tenant, make_followup) -> dict:
    configure_tenant(tenant, customer_confirmation_enabled=False)
    make_followup(tenant)
    deliver_notifications([row_of("staff_email")["id"]])
    return row_of("staff_email")


def staff_sms_failure(tenant, make_followup) -> dict:
    configure_tenant(
        tenant, contact_phone=CONTACT_PHONE, sms_enabled=True, customer_confirmation_enabled=False
    )
    make_followup(tenant)
    deliver_notifications([row_of("staff_sms")["id"]])
    return row_of("staff_sms")


def test_a_closed_mail_port_is_a_refused_connection_naming_the_server(
    app, tenant, make_followup, smtp
):
    port = closed_port()
    configure_mail(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    row = staff_email_failure(tenant, make_followup)
    assert row["state"] == "pending"  # the server may come back: retried
    assert row["last_error"] == (
        f"The mail server refused the connection (127.0.0.1:{port}). Check MAIL_SERVER."
    )
    assert row["last_error_detail"] == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert smtp.received() == []


def test_the_detail_panel_shows_the_staff_words_and_folds_the_technical_text(
    app, tenant, make_followup, smtp, staff_browser
):
    port = closed_port()
    configure_mail(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    row = staff_email_failure(tenant, make_followup)
    panel = staff_browser.get(f"/admin/followups/{row['followup_id']}/notifications", htmx=True)
    html = panel.get_data(as_text=True)
    error = re.search(r'<dd class="delivery-error">(.*?)</dd>', html, re.DOTALL).group(1)
    staff_words, _, folded = error.partition("<details")
    assert staff_words.strip() == (
        f"The mail server refused the connection (127.0.0.1:{port}). Check MAIL_SERVER."
    )
    assert "<summary>Technical details</summary>" in folded
    assert "ConnectionRefusedError: [Errno 111] Connection refused" in folded


def test_a_refused_login_names_the_settings_and_hides_the_password(
    app, tenant, make_followup, smtp
):
    smtp.credentials = ("followup", "the-right-password")
    configure_mail(MAIL_USERNAME="followup", MAIL_PASSWORD="a-wrong-password")
    row = staff_email_failure(tenant, make_followup)
    assert row["last_error"] == (
        "The mail server rejected the login. Check MAIL_USERNAME and MAIL_PASSWORD."
    )
    assert row["last_error_detail"].startswith("SMTPAuthenticationError: (535")
    assert "a-wrong-password" not in row["last_error"] + row["last_error_detail"]
    assert smtp.received() == []


def test_the_right_login_is_sent(app, tenant, make_followup, smtp):
    smtp.credentials = ("followup", "the-right-password")
    configure_mail(MAIL_USERNAME="followup", MAIL_PASSWORD="the-right-password")
    row = staff_email_failure(tenant, make_followup)
    assert (row["state"], row["last_error"]) == ("sent", None)
    assert len(smtp.received()) == 1


def test_a_5xx_for_the_address_fails_at_once_quoting_the_server(app, tenant, make_followup, smtp):
    smtp.refused_recipients = {"team@acme.example": "550 5.1.1 No such mailbox here"}
    row = staff_email_failure(tenant, make_followup)
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert row["last_error"] == (
        "The mail server refused the address team@acme.example: 550 5.1.1 No such mailbox here."
    )
    assert row["last_error_detail"].startswith("SMTPRecipientsRefused: {'team@acme.example'")


def test_a_5xx_for_the_message_says_the_server_rejected_it(app, tenant, make_followup, smtp):
    smtp.data_reply = "554 5.7.1 Message looks like spam"
    row = staff_email_failure(tenant, make_followup)
    assert row["last_error"] == (
        "The mail server rejected the message: 554 5.7.1 Message looks like spam."
    )
    assert row["last_error_detail"].startswith("SMTPDataError: (554")


def test_an_unknown_mail_server_name_says_so(app, tenant, make_followup, smtp):
    configure_mail(MAIL_SERVER="mail.invalid", MAIL_PORT=25)  # .invalid never resolves
    row = staff_email_failure(tenant, make_followup)
    assert row["last_error"] == (
        "The mail server's name mail.invalid could not be found. Check MAIL_SERVER."
    )
    assert row["last_error_detail"].startswith("gaierror: ")


def test_twilio_refusing_the_credentials_names_the_settings_and_hides_the_token(
    app, tenant, make_followup, twilio
):
    current_app.config["TWILIO_AUTH_TOKEN"] = "wrong-token-123"
    row = staff_sms_failure(tenant, make_followup)
    assert row["state"] == "failed"
    assert row["last_error"] == (
        "Twilio rejected the credentials. Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN."
    )
    assert row["last_error_detail"] == (
        "Twilio answered 401 (error 20003): Unable to create record: Authenticate"
    )
    assert twilio.messages == []


def test_twilio_refusing_the_number_names_the_number_and_why(app, tenant, make_followup, twilio):
    twilio.refuse_number(CONTACT_PHONE, 21614, f"'To' number {CONTACT_PHONE} is not a mobile")
    row = staff_sms_failure(tenant, make_followup)
    assert row["state"] == "failed"
    assert row["last_error"] == (
        f"The phone number {CONTACT_PHONE} was refused by Twilio: it cannot receive text messages."
    )
    assert row["last_error_detail"] == (
        f"Twilio answered 400 (error 21614): Unable to create record: 'To' number "
        f"{CONTACT_PHONE} is not a mobile"
    )


def test_twilio_down_is_a_problem_on_its_side_retried(app, tenant, make_followup, twilio):
    twilio.fail_next(1, status=503)
    row = staff_sms_failure(tenant, make_followup)
    assert (row["state"], row["last_error"]) == (
        "pending",
        "Twilio had a problem on its side (HTTP 503).",
    )


def test_twilio_not_answering_in_time_says_so(app, tenant, make_followup, twilio):
    twilio.hold_answers()
    current_app.config["TWILIO_TIMEOUT_S"] = 0.2
    row = staff_sms_failure(tenant, make_followup)
    assert (row["state"], row["last_error"]) == (
        "pending",
        "Twilio did not answer within 0.2 s (TWILIO_TIMEOUT_S).",
    )
    assert row["last_error_detail"].startswith("ReadTimeout: ")


def test_a_refused_customer_address_stays_out_of_the_logs(app, tenant, make_followup, smtp, caplog):
    customer = "ada.private@example.com"
    smtp.refused_recipients = {customer: f"550 5.1.1 <{customer}>: no such mailbox"}
    make_followup(tenant, email=customer)
    row_id = row_of("customer_email")["id"]
    with caplog.at_level(logging.DEBUG, logger=OUTBOX_LOGGER):
        deliver_notifications([row_id])
    assert row_of("customer_email")["state"] == "failed"
    assert customer not in caplog.text
    # What the log keeps: which row, channel and attempt, and the kind of failure.
    assert [record.getMessage() for record in caplog.records] == [
        f"Notification {row_id} (customer_email), attempt 1 failed: "
        "Undeliverable (SMTPRecipientsRefused)"
    ]


def test_a_refused_phone_number_stays_out_of_the_logs(app, tenant, make_followup, twilio, caplog):
    twilio.refuse_number(CONTACT_PHONE, 21614, f"'To' number {CONTACT_PHONE} is not a mobile")
    with caplog.at_level(logging.DEBUG, logger=OUTBOX_LOGGER):
        row = staff_sms_failure(tenant, make_followup)
    assert row["state"] == "failed"
    assert CONTACT_PHONE not in caplog.text
    assert CONTACT_PHONE.removeprefix("+") not in caplog.text
    assert [record.getMessage() for record in caplog.records] == [
        f"Notification {row['id']} (staff_sms), attempt 1 failed: "
        "Undeliverable (TwilioRestException)"
    ]
