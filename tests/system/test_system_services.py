"""The System page's services against real parts: Redis (the sweeps' records, the
queued retries, the model's failure counts), the aiosmtpd server and the local Twilio
server (test messages), both databases."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from followup.clock import utcnow
from followup.extensions import db
from followup.models import DeliveryState, Notification, StaffRole, Tenant
from followup.queue import DELIVER_NOTIFICATIONS, SweepKind, last_sweeps, waiting_job_ids
from followup.services import (
    doctor,
    notifications,
    promise,
    reminder_sending,
    sms_answers,
    sms_sends,
    snippet,
    staff_accounts,
    system,
)
from tests.fakes.local_http import closed_port
from tests.helpers.chains import client_says, make_agent, refreshed, start_chat
from tests.helpers.jobs import configure_mail
from tests.helpers.staff import PASSWORD

# --- the sweeps' last runs ----------------------------------------------------------------------

SWEEPS = {
    SweepKind.NOTIFICATIONS: notifications.sweep_once_per_interval,
    SweepKind.PROMISES: promise.sweep_once_per_interval,
    SweepKind.DUE_REMINDERS: reminder_sending.sweep,
    SweepKind.SMS_ANSWERS: sms_answers.sweep,
    SweepKind.SMS_SENDS: sms_sends.sweep,
}


@pytest.mark.parametrize("kind", list(SweepKind))
def test_each_sweep_records_its_run_at_the_time_it_ran(app, moved_clock, kind):
    assert last_sweeps()[kind] is None
    before = utcnow()
    SWEEPS[kind]()
    recorded = last_sweeps()
    assert before <= recorded[kind] <= utcnow()
    assert {other for other, at in recorded.items() if at is not None} == {kind}


def test_a_sweep_that_another_worker_ran_this_interval_records_nothing(app, moved_clock):
    notifications.sweep_once_per_interval()
    first = last_sweeps()[SweepKind.NOTIFICATIONS]
    moved_clock.shift(timedelta(milliseconds=100))  # within the interval's lock
    notifications.sweep_once_per_interval()  # another worker's cron: the lock says no
    assert last_sweeps()[SweepKind.NOTIFICATIONS] == first


def test_a_sweep_is_late_after_three_of_its_intervals_and_never_run_is_late(app, moved_clock):
    app.config.update(NOTIFY_SWEEP_INTERVAL_S=60, REMINDER_SWEEP_INTERVAL_S=10)
    notifications.sweep()  # the sweep itself, without the lock: it records nothing
    notifications.sweep_once_per_interval()
    reminder_sending.sweep()
    ran = utcnow()

    def late(now) -> dict:
        return {run.kind: run.stale for run in system.sweep_runs(now)}

    assert late(ran + timedelta(seconds=29)) == {
        SweepKind.NOTIFICATIONS: False,
        SweepKind.PROMISES: True,  # never ran
        SweepKind.DUE_REMINDERS: False,
        SweepKind.SMS_ANSWERS: True,
        SweepKind.SMS_SENDS: True,
    }
    later = late(ran + timedelta(seconds=31))  # 3 x 10 s gone: the reminders' sweep is late
    assert (later[SweepKind.NOTIFICATIONS], later[SweepKind.DUE_REMINDERS]) == (False, True)
    assert late(ran + timedelta(seconds=181))[SweepKind.NOTIFICATIONS] is True


# --- notifications failed or retrying: Retry all ------------------------------------------------


def set_row(notification_id: int, **values) -> None:
    db.session.execute(
        update(Notification).where(Notification.id == notification_id).values(**values)
    )
    db.session.commit()


def rows_by_id() -> dict[int, Notification]:
    db.session.expire_all()
    return {row.id: row for row in db.session.scalars(select(Notification))}


@pytest.fixture
def outbox(app, tenant, other_tenant, make_followup, redis_db):
    """Notifications in every state, in two businesses; no job waiting for any."""
    for business in (tenant, other_tenant):
        business.customer_confirmation_enabled = False  # one notification a request
    db.session.commit()
    ids = {}
    for name, state, attempts in [
        ("failed", DeliveryState.FAILED, 8),
        ("retrying", DeliveryState.PENDING, 2),
        ("queued", DeliveryState.PENDING, 0),
        ("sent", DeliveryState.SENT, 1),
        ("sending", DeliveryState.SENDING, 1),
    ]:
        (row,) = notifications.notifications_of(tenant.id, make_followup(tenant).id)
        set_row(
            row.id,
            state=state,
            attempts=attempts,
            last_error="The mail server refused the connection.",
        )
        ids[name] = row.id
    (row,) = notifications.notifications_of(other_tenant.id, make_followup(other_tenant).id)
    set_row(row.id, state=DeliveryState.FAILED, attempts=8, last_error="Refused.")
    ids["other business"] = row.id
    redis_db.flushdb()  # the jobs the new requests queued: as if long gone
    return ids


def test_the_page_counts_and_lists_only_this_business_failed_and_retrying_ones_newest_first(
    app, tenant, outbox
):
    assert notifications.count_in_trouble(tenant.id) == 2
    listed = [row.id for row in notifications.newest_in_trouble(tenant.id)]
    assert listed == [outbox["retrying"], outbox["failed"]]


def test_retry_all_sends_again_only_this_business_failed_and_retrying_ones(app, tenant, outbox):
    before = rows_by_id()
    assert notifications.retry_all(tenant.id) == 2
    after = rows_by_id()
    failed, retrying = after[outbox["failed"]], after[outbox["retrying"]]
    assert (failed.state, failed.attempts) == (DeliveryState.PENDING, 0)  # a fresh set
    assert (retrying.state, retrying.attempts) == (DeliveryState.PENDING, 2)  # goes at once
    assert failed.next_attempt_at <= utcnow() and retrying.next_attempt_at <= utcnow()
    for untouched in ("queued", "sent", "sending", "other business"):
        row, old = after[outbox[untouched]], before[outbox[untouched]]
        assert (row.state, row.attempts, row.next_attempt_at) == (
            old.state,
            old.attempts,
            old.next_attempt_at,
        ), untouched
    assert sorted(waiting_job_ids(DELIVER_NOTIFICATIONS)) == sorted(
        [
            notifications.job_id([(outbox["failed"], 0)]),
            notifications.job_id([(outbox["retrying"], 2)]),
        ]
    )
    # The failed one starts afresh; the retrying one keeps its count until it is sent.
    assert notifications.count_in_trouble(tenant.id) == 1


def test_retry_all_leaves_a_row_a_worker_took_meanwhile_to_it(app, tenant, outbox, monkeypatch):
    """A worker claims a row between Retry all's read and its update of that row."""
    real = notifications._send_again

    def worker_takes_it_first(row, state, attempts):
        if row.id == outbox["retrying"]:
            assert notifications._claim([row.id]) == {row.id: 3}  # the delivery job's claim
        return real(row, state, attempts)

    monkeypatch.setattr(notifications, "_send_again", worker_takes_it_first)
    assert notifications.retry_all(tenant.id) == 1
    taken = rows_by_id()[outbox["retrying"]]
    assert (taken.state, taken.attempts) == (DeliveryState.SENDING, 3)  # still the worker's


# --- reminders waiting on the model -------------------------------------------------------------


def test_a_reminder_the_model_failed_to_write_waits_with_its_next_try(
    app, tenant, other_tenant, fake_llm, moved_clock
):
    make_agent(tenant)
    chat = start_chat(tenant)
    client_says(chat)
    assert reminder_sending.waiting_on_model(tenant.id) == reminder_sending.WaitingOnModel(0, None)
    moved_clock.move_to(refreshed(chat).chain_due_at + timedelta(seconds=1))
    fake_llm.behaviour.fail_status = 500
    chat = refreshed(chat)
    outcome = reminder_sending.send_reminder(chat.id, chat.chain_cycle, chat.chain_step_id)
    assert outcome.startswith("retry: in ")
    waiting = reminder_sending.waiting_on_model(tenant.id)
    assert waiting.count == 1
    assert waiting.next_try_at == refreshed(chat).chain_due_at > utcnow()
    assert reminder_sending.waiting_on_model(other_tenant.id).count == 0

    fake_llm.behaviour.fail_status = None  # the model is back: written and sent, none waits
    moved_clock.move_to(waiting.next_try_at + timedelta(seconds=1))
    chat = refreshed(chat)
    assert reminder_sending.send_reminder(chat.id, chat.chain_cycle, chat.chain_step_id) == "sent"
    assert reminder_sending.waiting_on_model(tenant.id).count == 0


# --- "Check the snippet" ------------------------------------------------------------------------

SHOP = "https://shop.example"


def seen(tenant_id: int) -> tuple:
    db.session.expire_all()
    tenant = db.session.get(Tenant, tenant_id)
    return tenant.widget_seen_origin, tenant.widget_seen_at


@pytest.mark.parametrize(
    ("origin", "referer", "stored"),
    [
        ("https://Shop.Example:443", None, SHOP),
        ("http://shop.example:8080", None, "http://shop.example:8080"),
        (None, "https://shop.example/cart?email=jane@example.com#x", SHOP),
        ("null", "https://shop.example/page", SHOP),  # a sandboxed page: its Referer
        ("https://[2001:db8::1]:8443", None, "https://[2001:db8::1]:8443"),
        ("https://bücher.example", None, "https://xn--bcher-kva.example"),
    ],
)
def test_the_page_origin_is_stored_as_browsers_write_origins(app, tenant, origin, referer, stored):
    assert snippet.record_seen(tenant, origin, referer) is True
    assert seen(tenant.id)[0] == stored


@pytest.mark.parametrize(
    ("origin", "referer"),
    [
        (None, None),
        ("null", None),
        (None, "javascript:alert(1)"),
        (None, "file:///home/me/shop.html"),
        (None, "https://user:secret@shop.example/"),
        (None, "https://shop.example:99999/"),
        (None, "https://*.example/"),
        (None, "https://" + "a" * 2100 + ".example/"),
        ("<script>", "not a url"),
    ],
)
def test_a_bad_origin_or_referer_is_ignored(app, tenant, origin, referer):
    assert snippet.record_seen(tenant, origin, referer) is False
    assert seen(tenant.id) == (None, None)


def test_the_widget_is_noted_at_most_once_a_minute_per_tenant(
    app, tenant, other_tenant, moved_clock
):
    assert snippet.record_seen(tenant, SHOP, None) is True
    first = seen(tenant.id)[1]
    assert first is not None
    moved_clock.shift(timedelta(seconds=59))
    assert snippet.record_seen(tenant, "https://other.example", None) is False
    # Another web process, whose copy of the tenant is older: the UPDATE's condition holds.
    stale_copy = Tenant(id=tenant.id, widget_seen_at=None)
    assert snippet.record_seen(stale_copy, "https://other.example", None) is False
    assert snippet.record_seen(other_tenant, "https://globex.example", None) is True
    assert seen(tenant.id) == (SHOP, first)
    moved_clock.shift(timedelta(seconds=2))
    assert snippet.record_seen(db.session.get(Tenant, tenant.id), "https://other.example", None)
    assert seen(tenant.id)[0] == "https://other.example"


def test_a_site_left_out_of_the_allowed_origins_is_told(app, tenant):
    assert snippet.seen_on_allowed_origin(tenant) is True  # not seen yet: nothing to tell
    snippet.record_seen(tenant, SHOP, None)
    db.session.expire_all()
    assert snippet.seen_on_allowed_origin(tenant) is False
    tenant.allowed_origins = [SHOP]
    db.session.commit()
    assert snippet.seen_on_allowed_origin(tenant) is True


# --- test messages ------------------------------------------------------------------------------

pytest_sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def member(tenant):
    return staff_accounts.create_staff_user(
        "acme", "ada@acme.example", PASSWORD, role=StaffRole.ADMIN
    )


@pytest_sqlite_only
def test_the_test_email_reaches_the_member_own_address(app, member, smtp):
    outcome = system.send_test_email(member)
    assert (outcome.sent, outcome.recipient, outcome.failure) == (True, "ada@acme.example", None)
    (received,) = smtp.received()
    assert received.rcpt_tos == ["ada@acme.example"]
    assert received.message["Subject"] == "Test email from Followup (Acme Inc)"


@pytest_sqlite_only
def test_a_refused_login_is_told_in_our_words_without_the_password(app, member, smtp):
    smtp.credentials = ("followup", "the-right-password")
    configure_mail(MAIL_USERNAME="followup", MAIL_PASSWORD="a-wrong-password")
    outcome = system.send_test_email(member)
    assert not outcome.sent
    assert (
        outcome.failure
        == "The mail server rejected the login. Check MAIL_USERNAME and MAIL_PASSWORD."
    )
    assert smtp.received() == []


@pytest_sqlite_only
def test_a_mail_server_that_is_not_there_is_told_with_its_address(app, member, smtp):
    port = closed_port()
    configure_mail(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    outcome = system.send_test_email(member)
    assert (
        outcome.failure
        == f"The mail server refused the connection (127.0.0.1:{port}). Check MAIL_SERVER."
    )


@pytest_sqlite_only
def test_without_a_mail_server_the_test_email_is_saved_to_a_file(app, member, smtp, tmp_path):
    app.instance_path = str(tmp_path)
    configure_mail(MAIL_SERVER=None)
    outcome = system.send_test_email(member)
    assert outcome.sent and outcome.saved_to.endswith("-test-email.eml")
    assert b"ada@acme.example" in (tmp_path / "mail" / outcome.saved_to).read_bytes()
    assert smtp.received() == []


@pytest_sqlite_only
def test_the_test_sms_goes_to_the_members_own_mobile(app, tenant, member, twilio):
    tenant.contact_phone = "+14155550100"  # the team's number: not the member's own
    member.phone = "+14155550123"
    db.session.commit()
    outcome = system.send_test_sms(member)
    assert (outcome.sent, outcome.recipient) == (True, "+14155550123")
    (sms,) = twilio.messages
    assert sms.to == "+14155550123" and "Test SMS from Followup" in sms.body


@pytest_sqlite_only
def test_twilio_refusing_the_credentials_is_told_in_our_words(app, member, twilio):
    member.phone = "+14155550123"
    db.session.commit()
    app.config["TWILIO_AUTH_TOKEN"] = "a-wrong-token"
    outcome = system.send_test_sms(member)
    assert not outcome.sent
    assert (
        outcome.failure
        == "Twilio rejected the credentials. Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN."
    )
    assert twilio.messages == []


@pytest_sqlite_only
def test_twilio_refusing_the_number_names_it(app, member, twilio):
    member.phone = "+14155550199"
    db.session.commit()
    twilio.refuse_number("+14155550199", 21614, "'To' number is not a valid mobile number")
    outcome = system.send_test_sms(member)
    assert outcome.failure == (
        "The phone number +14155550199 was refused by Twilio: it cannot receive text messages."
    )


@pytest_sqlite_only
def test_without_a_mobile_of_their_own_no_sms_is_sent(app, tenant, member, twilio):
    tenant.contact_phone = "+14155550100"
    db.session.commit()
    outcome = system.send_test_sms(member)
    assert (outcome.sent, outcome.recipient) == (False, None)
    assert twilio.requests == []


# --- the checks: kept a minute, run again at most once in CHECKS_MIN_INTERVAL_S ---------------


@pytest_sqlite_only
def test_page_views_share_the_last_minutes_findings_and_check_again_runs_them(app, smtp):
    first = system.checks()
    email = next(finding for finding in first if finding.check == "Email")
    assert email.verdict is doctor.Verdict.OK
    configure_mail(MAIL_PORT=closed_port())  # the mail server goes away

    assert system.checks() == first  # a page view within the minute: no new login
    again = system.checks(again=True)
    assert next(f for f in again if f.check == "Email").verdict is doctor.Verdict.FAIL
    assert system.checks() == again  # what "Check again" found is what the next view shows


@pytest_sqlite_only
def test_check_again_twice_in_the_interval_runs_them_once(app, smtp):
    system.checks(again=True)
    configure_mail(MAIL_PORT=closed_port())
    # Another click, or another member, within CHECKS_MIN_INTERVAL_S: the kept findings.
    again = system.checks(again=True)
    assert next(f for f in again if f.check == "Email").verdict is doctor.Verdict.OK
