"""Outside calls that never answer: a mail server and Twilio that accept the connection
and then say nothing (tests/fakes/blackhole.py). Each call gives up after its own time
limit (MAIL_TIMEOUT_S, TWILIO_TIMEOUT_S), well before RQ would stop the job, and the
notification goes back to the outbox for its next attempt: nothing is lost.

A real `python worker.py`: the limits are settings it reads from its environment."""

import pytest

from tests.helpers.jobs import configure_tenant, outbox_rows, row_of, wait_for

CONTACT_PHONE = "+14155550123"
ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
CALL_TIMEOUT_S = 1
# Long enough that only the calls' own limits can end the attempts.
JOB_TIMEOUT_S = 20


@pytest.fixture
def settings(settings, blackhole):
    return settings | {
        "MAIL_PORT": blackhole.port,
        "TWILIO_API_BASE": blackhole.base_url,
        "MAIL_TIMEOUT_S": CALL_TIMEOUT_S,
        "TWILIO_TIMEOUT_S": CALL_TIMEOUT_S,
        "NOTIFY_JOB_TIMEOUT_S": JOB_TIMEOUT_S,
        "NOTIFY_SEND_LEASE_S": JOB_TIMEOUT_S + 5,
    }


def every_row_failed(times: int):
    """Every notification failed `times` attempts and waits for its next one."""

    def check():
        rows = outbox_rows()
        waiting = [row for row in rows if row["state"] == "pending" and row["last_error"]]
        return (
            rows
            if rows
            and all(row["attempts"] >= times for row in waiting)
            and len(waiting) == len(rows)
            else None
        )

    return check


@ONE_DATABASE
def test_a_silent_mail_server_and_twilio_fail_the_sends_in_time_and_they_are_retried(
    app, tenant, make_followup, blackhole, start_worker
):
    configure_tenant(tenant, contact_phone=CONTACT_PHONE, sms_enabled=True)
    worker = start_worker()
    make_followup(tenant)

    # Three sends of CALL_TIMEOUT_S each in one job: far within JOB_TIMEOUT_S.
    wait_for(every_row_failed(1), "every first attempt to time out", worker, JOB_TIMEOUT_S)
    server = f"127.0.0.1:{blackhole.port}"
    for channel in ("staff_email", "customer_email"):
        assert row_of(channel)["last_error"] == (
            f"The mail server ({server}) did not answer within 1 s (MAIL_TIMEOUT_S)."
        )
    assert (
        row_of("staff_sms")["last_error"] == "Twilio did not answer within 1 s (TWILIO_TIMEOUT_S)."
    )
    assert blackhole.accepted >= 3  # each client got through, then heard nothing

    wait_for(every_row_failed(2), "the retries", worker, JOB_TIMEOUT_S)
