"""The outbox rules, run in this process: the job functions are called directly
(as a worker would), against the real SMTP server, the Twilio SDK talking to the
local Twilio server, and Redis; the clock is moved, not waited for."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import current_app
from rq import Queue

from followup.clock import utcnow
from followup.config import Config
from followup.errors import TransitionNotAllowed
from followup.extensions import db
from followup.jobs.notifications import deliver_notifications, sweep_notifications
from followup.models import Notification, NotificationChannel, Source
from followup.notify import failures
from followup.queue import JobQueue
from followup.services import notifications, staff_accounts, tenants
from followup.services.followups import create_followup
from tests.fakes.local_http import closed_redis_url
from tests.helpers.jobs import at_once, configure_tenant, outbox_rows, row_of

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
# Who hears of a new request, at most: the team by email and SMS, the customer by email.
NEW_REQUEST_CHANNELS = {
    NotificationChannel.STAFF_EMAIL,
    NotificationChannel.STAFF_SMS,
    NotificationChannel.CUSTOMER_EMAIL,
}


def deliver_all() -> None:
    for row in outbox_rows():
        deliver_notifications([row["id"]])


def channels() -> set[str]:
    return {row["channel"] for row in outbox_rows()}


# --- who is told --------------------------------------------------------------------------------


def test_the_rows_are_written_with_the_request_and_queued_after_the_commit(
    app, tenant, make_followup, redis_db
):
    followup = make_followup(tenant)
    rows = outbox_rows()
    assert [(row["channel"], row["recipient"], row["state"], row["attempts"]) for row in rows] == [
        ("staff_email", "team@acme.example", "pending", 0),
        ("customer_email", followup.email, "pending", 0),
    ]
    assert all(row["followup_id"] == followup.id for row in rows)
    queued = Queue(JobQueue.NOTIFICATIONS, connection=redis_db).get_job_ids()
    # One job for the request's notifications; its id names each row and attempt.
    assert queued == ["notifications-" + "-".join(f"{row['id']}_0" for row in rows)]


def test_without_a_contact_email_the_owner_is_told(app, smtp):
    tenant = tenants.create_tenant("initech", "Initech")
    staff_accounts.create_staff_user("initech", "boss@initech.example", "long password")  # owner
    staff_accounts.create_staff_user("initech", "peter@initech.example", "long password")  # staff
    data = {"name": "Milton", "email": "milton@example.com", "reason": "My stapler"}
    create_followup(tenant.id, data, source=Source.API)
    assert row_of("staff_email")["recipient"] == "boss@initech.example"
    deliver_all()
    assert {mail.rcpt_tos[0] for mail in smtp.received()} == {
        "boss@initech.example",
        "milton@example.com",
    }


def test_with_no_contact_email_and_no_owner_the_email_fails_with_the_reason(app, smtp):
    tenant = tenants.create_tenant("empty", "Empty Co")
    configure_tenant(tenant, customer_confirmation_enabled=False)
    create_followup(tenant.id, {"name": "A", "email": "a@example.com", "reason": "r"}, Source.API)
    deliver_all()
    row = row_of("staff_email")
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert row["last_error"] == "There is no contact email and no owner email to send to."
    assert smtp.received() == []


@pytest.mark.parametrize(
    "tenant_fields",
    [
        {"contact_phone": "+14155550123", "sms_enabled": False},
        {"contact_phone": None, "sms_enabled": True},
    ],
    ids=["sms-disabled", "no-phone"],
)
def test_no_sms_when_sms_is_disabled_or_there_is_no_phone(
    app, tenant, make_followup, twilio, tenant_fields
):
    configure_tenant(tenant, **tenant_fields)
    make_followup(tenant)
    assert channels() == {"staff_email", "customer_email"}
    deliver_all()
    assert twilio.requests == []


def test_sms_when_enabled_with_a_phone(app, tenant, make_followup, twilio):
    configure_tenant(tenant, contact_phone="+14155550123", sms_enabled=True)
    make_followup(tenant, phone="+44 20 7946 0958")
    assert channels() == NEW_REQUEST_CHANNELS
    deliver_all()
    (message,) = twilio.messages
    assert message.to == "+14155550123"
    assert "Phone: +442079460958" in message.body


def test_the_customer_confirmation_is_on_by_default_and_can_be_turned_off(
    app, tenant, make_followup
):
    assert tenant.customer_confirmation_enabled is True
    configure_tenant(tenant, customer_confirmation_enabled=False)
    make_followup(tenant)
    assert channels() == {"staff_email"}


# --- the customer's confirmation: no open relay ------------------------------------------------

SPAM = {
    "name": "You won! Claim at evil.example",
    "email": "victim@example.com",
    "reason": "Your account is locked: log in at http://evil.example/login",
}


def mails_to(smtp, address: str) -> list:
    return [mail for mail in smtp.received() if mail.rcpt_tos == [address]]


def test_a_confirmation_to_an_unproven_address_carries_none_of_the_visitors_words(
    app, tenant, smtp
):
    """Anybody can ask for a follow-up with anybody's email: the confirmation must not
    carry a text they chose (name or reason) to that address. The team gets it all."""
    create_followup(tenant.id, SPAM, Source.API)
    deliver_all()
    (confirmation,) = mails_to(smtp, "victim@example.com")
    for part in ("plain", "html"):
        text = confirmation.part(part)
        assert "evil.example" not in text and "won" not in text
        assert "Hello," in text and "We received your request on " in text
    assert "evil.example" not in confirmation.message["Subject"]
    (staff,) = mails_to(smtp, "team@acme.example")
    assert SPAM["reason"] in staff.part("plain") and SPAM["name"] in staff.part("plain")


def test_a_confirmation_to_a_proven_address_reads_the_request_back(app, tenant, smtp):
    data = {"name": "Maria Garcia", "email": "maria@example.com", "reason": "40 oak chairs"}
    create_followup(tenant.id, data, Source.TEXT, identity_verified=True)
    deliver_all()
    (confirmation,) = mails_to(smtp, "maria@example.com")
    assert "Hello Maria Garcia," in confirmation.part("plain")
    assert "40 oak chairs" in confirmation.part("plain") and "40 oak chairs" in confirmation.part(
        "html"
    )


def test_confirmations_to_one_address_are_limited_per_hour_and_every_request_is_saved(
    app, tenant, other_tenant, smtp
):
    """3 an hour per (business, address); the 4th and 5th requests are saved and the team
    is told, only the customer gets no more mail. Another address or business is apart."""
    with time_machine.travel(START, tick=False) as clock:
        for minute in range(5):
            clock.move_to(START + timedelta(minutes=minute))
            create_followup(tenant.id, SPAM, Source.API)
        create_followup(tenant.id, SPAM | {"email": "someone@example.com"}, Source.API)
        create_followup(other_tenant.id, SPAM, Source.API)
        clock.move_to(START + timedelta(minutes=61))  # the first one's hour is over
        create_followup(tenant.id, SPAM, Source.API)
        deliver_all()
    rows = outbox_rows()
    staff_rows = [r for r in rows if r["channel"] == "staff_email"]
    confirmations = [r["recipient"] for r in rows if r["channel"] == "customer_email"]
    assert len(staff_rows) == 8  # every request saved and told to its team
    assert confirmations.count("victim@example.com") == 3 + 1 + 1
    victim_rows = [r["tenant_id"] for r in rows if r["recipient"] == "victim@example.com"]
    assert victim_rows == [tenant.id] * 3 + [other_tenant.id, tenant.id]
    assert confirmations.count("someone@example.com") == 1
    assert len(mails_to(smtp, "victim@example.com")) == 5


# --- once and only once --------------------------------------------------------------------------


def test_a_job_that_runs_again_after_a_recorded_success_sends_nothing(
    app, tenant, make_followup, smtp
):
    configure_tenant(tenant, customer_confirmation_enabled=False)
    make_followup(tenant)
    (row,) = outbox_rows()
    deliver_notifications([row["id"]])
    deliver_notifications([row["id"]])
    deliver_notifications([row["id"]])
    assert len(smtp.received()) == 1
    sent = row_of("staff_email")
    assert (sent["state"], sent["attempts"]) == ("sent", 1)
    assert sent["provider_message_id"] == smtp.received()[0].message_id


def test_a_row_in_another_workers_hands_is_left_alone_until_its_lease_ends(
    app, tenant, make_followup, smtp
):
    configure_tenant(tenant, customer_confirmation_enabled=False)
    lease = timedelta(seconds=current_app.config["NOTIFY_SEND_LEASE_S"])
    with time_machine.travel(START, tick=False) as clock:
        make_followup(tenant)
        (row,) = outbox_rows()
        db.session.execute(  # a worker claimed it, then vanished
            Notification.__table__.update().values(
                state="sending", attempts=1, next_attempt_at=START + lease
            )
        )
        db.session.commit()
        deliver_notifications([row["id"]])
        assert smtp.received() == []

        clock.move_to(START + lease + timedelta(seconds=1))
        deliver_notifications([row["id"]])
    assert len(smtp.received()) == 1
    assert row_of("staff_email")["attempts"] == 2


def test_two_workers_delivering_the_same_row_at_once_send_it_once(app, tenant, make_followup, smtp):
    configure_tenant(tenant, customer_confirmation_enabled=False)
    smtp.accept_delay_s = 0.2
    make_followup(tenant)
    (row,) = outbox_rows()
    runs = at_once(4, lambda: deliver_notifications([row["id"]]))
    assert runs.errors == []
    assert len(smtp.received()) == 1
    assert row_of("staff_email")["state"] == "sent"


# --- retries ------------------------------------------------------------------------------------


def test_backoff_first_retry_within_a_minute_then_growing_capped_then_failed(
    app, tenant, make_followup, smtp, redis_db
):
    current_app.config.update(
        NOTIFY_RETRY_FIRST_S=Config.NOTIFY_RETRY_FIRST_S,
        NOTIFY_RETRY_MAX_S=Config.NOTIFY_RETRY_MAX_S,
        NOTIFY_MAX_ATTEMPTS=10,
    )
    configure_tenant(tenant, customer_confirmation_enabled=False)
    smtp.stop()
    delays = []
    refused = f"The mail server refused the connection (127.0.0.1:{smtp.port}). Check MAIL_SERVER."
    with time_machine.travel(START, tick=False) as clock:
        make_followup(tenant)
        (row,) = outbox_rows()
        deliver_notifications([row["id"]])
        for attempt in range(1, 10):
            waiting = row_of("staff_email")
            assert (waiting["state"], waiting["attempts"]) == ("pending", attempt)
            assert waiting["last_error"] == refused
            assert "Connection refused" in waiting["last_error_detail"]
            due = waiting["next_attempt_at"]
            delays.append((due - utcnow()).total_seconds())

            clock.move_to(due - timedelta(seconds=10))  # too early: nothing happens
            deliver_notifications([row["id"]])
            assert row_of("staff_email")["attempts"] == attempt

            clock.move_to(due)
            deliver_notifications([row["id"]])

    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert delays[0] <= 60
    failed = row_of("staff_email")
    assert (failed["state"], failed["attempts"], failed["next_attempt_at"]) == ("failed", 10, None)
    assert failed["last_error"] == refused
    # The retry was also handed to RQ's scheduler, for the time it is due.
    scheduled = Queue(
        JobQueue.NOTIFICATIONS, connection=redis_db
    ).scheduled_job_registry.get_job_ids()
    assert f"notifications-{row['id']}_9" in scheduled

    smtp.start()
    retried = notifications.retry_now(tenant.id, row["followup_id"], row["id"])
    assert (retried.state, retried.attempts) == ("pending", 0)
    deliver_notifications([row["id"]])
    sent = row_of("staff_email")
    assert (sent["state"], sent["attempts"]) == ("sent", 1)
    assert len(smtp.received()) == 1


def test_retry_now_on_a_sent_notification_is_refused(app, tenant, make_followup, smtp):
    make_followup(tenant)
    deliver_all()
    row = row_of("staff_email")
    with pytest.raises(TransitionNotAllowed, match="sent already"):
        notifications.retry_now(tenant.id, row["followup_id"], row["id"])
    assert row_of("staff_email") == row
    assert len(smtp.received()) == 2


def test_twilio_not_configured_fails_at_once_with_a_clear_reason(
    app, tenant, make_followup, twilio
):
    current_app.config["TWILIO_ACCOUNT_SID"] = None
    configure_tenant(tenant, contact_phone="+14155550123", sms_enabled=True)
    make_followup(tenant)
    deliver_all()
    row = row_of("staff_sms")
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert (row["last_error"], row["last_error_detail"]) == (failures.SMS_NOT_CONFIGURED, None)
    assert twilio.requests == []


def test_a_twilio_refusal_fails_at_once_and_a_twilio_500_waits_for_a_retry(
    app, tenant, make_followup, twilio
):
    configure_tenant(tenant, contact_phone="+14155550123", sms_enabled=True)
    make_followup(tenant)
    twilio.fail_next(1, status=500)
    deliver_notifications([row_of("staff_sms")["id"]])
    assert row_of("staff_sms")["state"] == "pending"

    current_app.config["TWILIO_AUTH_TOKEN"] = "wrong-token"
    db.session.execute(Notification.__table__.update().values(next_attempt_at=utcnow()))
    db.session.commit()
    deliver_notifications([row_of("staff_sms")["id"]])
    row = row_of("staff_sms")
    assert (row["state"], row["attempts"]) == ("failed", 2)
    assert row["last_error"] == failures.TWILIO_BAD_CREDENTIALS
    assert row["last_error_detail"] == (
        "Twilio answered 401 (error 20003): Unable to create record: Authenticate"
    )
    assert twilio.messages == []


# --- Redis away or emptied ------------------------------------------------------------------------


def test_with_redis_down_the_request_is_saved_and_the_sweep_sends_it_later(
    app, tenant, make_followup, smtp, redis_db, jobs_redis_url, caplog
):
    current_app.config["REDIS_URL"] = closed_redis_url()
    followup = make_followup(tenant)  # no exception: the request is what matters
    assert followup.id
    assert {row["state"] for row in outbox_rows()} == {"pending"}
    assert "the sweep will send them" in caplog.text

    current_app.config["REDIS_URL"] = jobs_redis_url
    assert sweep_notifications() == 2
    queue = Queue(JobQueue.NOTIFICATIONS, connection=redis_db)
    assert sorted(queue.get_job_ids()) == sorted(
        f"notifications-{row['id']}_0" for row in outbox_rows()
    )
    deliver_all()
    assert {row["state"] for row in outbox_rows()} == {"sent"}
    assert len(smtp.received()) == 2


def test_the_sweep_queues_only_what_is_due_and_not_waiting_in_the_queue(
    app, tenant, make_followup, redis_db
):
    queue = Queue(JobQueue.NOTIFICATIONS, connection=redis_db)
    with time_machine.travel(START, tick=False) as clock:
        make_followup(tenant)
        assert notifications.sweep() == 0  # their job is waiting in the queue
        redis_db.flushdb()
        assert notifications.sweep() == 2  # Redis lost them: queued again
        assert notifications.sweep() == 0
        assert len(queue.get_job_ids()) == 2

        redis_db.flushdb()
        staff_email, confirmation = outbox_rows()
        lease_end = START + timedelta(minutes=5)
        db.session.execute(
            Notification.__table__.update()
            .where(Notification.id == staff_email["id"])
            .values(state="sending", attempts=1, next_attempt_at=lease_end)
        )
        db.session.execute(
            Notification.__table__.update()
            .where(Notification.id == confirmation["id"])
            .values(state="sent", attempts=1, next_attempt_at=None, sent_at=START)
        )
        db.session.commit()
        assert notifications.sweep() == 0  # in a worker's hands, and sent

        clock.move_to(lease_end)
        assert notifications.sweep() == 1  # its worker died: the lease ran out
        assert queue.get_job_ids() == [f"notifications-{staff_email['id']}_1"]


def test_one_sweep_per_interval_however_many_workers_ask(app, tenant, make_followup, redis_db):
    make_followup(tenant)
    redis_db.flushdb()
    assert sweep_notifications() == 2
    redis_db.delete("rq:queue:default")
    assert sweep_notifications() == 0  # another worker's cron, same interval: skipped
