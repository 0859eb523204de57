"""Notifications delivered by real `python worker.py` processes through real Redis,
SMTP (aiosmtpd) and the Twilio SDK, on SQLite and PostgreSQL.

Each test starts its own worker(s) against the test's database; waits are polls
with a deadline, never sleeps for time to pass.
"""

import importlib.util
import os
import signal
import subprocess
import threading
import time
from collections import Counter

import pytest
from rq import Queue
from rq.cron import get_cron_job_ids
from rq.job import Job, JobStatus

from followup.models import NotificationChannel, Source
from followup.queue import JobQueue
from followup.services import followups
from tests.helpers.jobs import (
    PROJECT_ROOT,
    TWILIO_FROM,
    WAIT_S,
    all_sent,
    configure_tenant,
    outbox_rows,
    row_of,
    session_members,
    wait_for,
)

CONTACT_PHONE = "+14155550123"
# Tests whose subject is not the database run on one (a SQLite file, shared with the
# worker process); those about claims, leases and the sweep run on both.
ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SWEEP_JOB = "followup.jobs.notifications.sweep_notifications"


def a_sweep_finished_after(redis_db, moment: float) -> bool:
    jobs = Job.fetch_many(get_cron_job_ids(SWEEP_JOB, redis_db), connection=redis_db)
    return any(
        job and job.get_status() == JobStatus.FINISHED and job.enqueued_at.timestamp() > moment
        for job in jobs
    )


def settle(redis_db) -> None:
    """Wait for a sweep queued after this moment to finish: the queue is first in,
    first out, so every job queued before it (twins included) has run by then."""
    moment = time.time()
    wait_for(lambda: a_sweep_finished_after(redis_db, moment), "a sweep after the deliveries")


def no_duplicates_arrive(smtp, redis_db, expected: int) -> None:
    settle(redis_db)
    ids = [mail.message_id for mail in smtp.received()]
    assert len(ids) == expected, Counter(ids)
    assert len(set(ids)) == expected


@ONE_DATABASE
def test_a_new_request_brings_the_staff_email_the_sms_and_the_confirmation(
    app, tenant, smtp, twilio, start_worker
):
    configure_tenant(tenant, contact_phone=CONTACT_PHONE, sms_enabled=True)
    worker = start_worker()
    followup = followups.create_followup(
        tenant.id,
        {
            # Line breaks and markup in customer text: no header injection, shown as text.
            "name": "Jane <b>Doe</b>\r\nBcc: victim@example.org",
            "email": "Jane@Example.com",
            "phone": "+1 415 555 0199",
            "reason": "Wants a quote for 40 desks <script>alert(1)</script> " + "x" * 120,
            "summary": "Asked about <i>bulk</i> pricing & delivery.",
            "priority": "high",
        },
        source=Source.TEXT,
    )
    rows = wait_for(all_sent, "all three notifications to be sent", worker)
    assert {row["channel"] for row in rows} == {
        NotificationChannel.STAFF_EMAIL,
        NotificationChannel.STAFF_SMS,
        NotificationChannel.CUSTOMER_EMAIL,
    }
    assert all(row["attempts"] == 1 and row["last_error"] is None for row in rows)

    mails = {mail.rcpt_tos[0]: mail for mail in smtp.received()}
    assert set(mails) == {"team@acme.example", "jane@example.com"}
    link = f"https://followup.example.test/admin/followups/{followup.id}"

    staff_mail = mails["team@acme.example"].message
    assert staff_mail["To"] == "team@acme.example"
    assert staff_mail["Subject"] == (
        "[High Priority] New follow-up request from Jane <b>Doe</b> Bcc: victim@example.org"
    )
    assert staff_mail["Reply-To"] == "jane@example.com"
    assert staff_mail["Bcc"] is None and "victim" not in " ".join(mails)
    assert staff_mail["Message-ID"] == row_of("staff_email")["provider_message_id"]
    text = mails["team@acme.example"].part("plain")
    for expected in (
        "Name:  Jane <b>Doe</b> Bcc: victim@example.org",
        "Email: jane@example.com",
        "Phone: +1 415-555-0199",  # stored +14155550199, shown as people write it
        "Wants a quote for 40 desks <script>alert(1)</script> " + "x" * 120,
        "Asked about <i>bulk</i> pricing & delivery.",
        f"Open the request: {link}",
    ):
        assert expected in text
    html = mails["team@acme.example"].part("html")
    assert "Jane &lt;b&gt;Doe&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "Asked about &lt;i&gt;bulk&lt;/i&gt; pricing &amp; delivery." in html
    assert f'<a href="{link}">' in html

    confirmation = mails["jane@example.com"]
    assert confirmation.message["Subject"] == "Acme Inc: we received your request"
    assert confirmation.message["From"] == "Acme Inc <followup@followup.example.test>"
    assert confirmation.message["Reply-To"] == "team@acme.example"
    assert "We'll contact you within 24 hours." in confirmation.part("plain")
    assert "We&#39;ll contact you within 24 hours." in confirmation.part("html")
    # Not a proven address: none of the visitor's words go back to it (see the outbox tests).
    assert "desks" not in confirmation.part("html") and "Jane" not in confirmation.part("plain")

    (sms,) = twilio.messages
    assert (sms.to, sms.from_) == (CONTACT_PHONE, TWILIO_FROM)
    assert sms.sid == row_of("staff_sms")["provider_message_id"]
    assert sms.body == "\n".join(
        [
            "New follow-up request",
            "Name: Jane <b>Doe</b> Bcc: victim@example.org",
            "Email: jane@example.com",
            "Phone: +14155550199",
            "Reason: " + followup.reason[:99] + "…",  # 100 characters
        ]
    )


def test_smtp_down_then_back_delivers_each_email_exactly_once(
    app, tenant, make_followup, smtp, redis_db, start_worker
):
    smtp.stop()
    worker = start_worker()
    make_followup(tenant)

    failed_once = wait_for(
        lambda: all(row["attempts"] >= 1 and row["last_error"] for row in outbox_rows()),
        "the first attempts to fail",
        worker,
    )
    assert failed_once
    rows = outbox_rows()
    assert all(row["state"] != "sent" for row in rows)
    assert rows[0]["last_error"].startswith("The mail server refused the connection")
    assert "Connection refused" in rows[0]["last_error_detail"]

    smtp.start()
    rows = wait_for(all_sent, "the emails to be sent once SMTP is back", worker)
    assert all(row["attempts"] >= 2 for row in rows)
    no_duplicates_arrive(smtp, redis_db, expected=2)


@ONE_DATABASE
def test_a_twilio_500_is_retried(app, tenant, make_followup, smtp, twilio, start_worker):
    configure_tenant(tenant, contact_phone=CONTACT_PHONE, sms_enabled=True)
    twilio.fail_next(2, status=500)
    worker = start_worker()
    make_followup(tenant)

    wait_for(all_sent, "all notifications, the SMS after two 500s", worker)
    sms = row_of("staff_sms")
    assert sms["attempts"] == 3
    assert sms["last_error"] == "Twilio had a problem on its side (HTTP 500)."
    assert sms["last_error_detail"] == (
        "Twilio answered 500 (error 20500): Unable to create record: Internal Server Error"
    )
    assert len(twilio.requests) == 3
    assert len(twilio.messages) == 1


def test_redis_flushed_between_commit_and_work_the_sweep_delivers(
    app, tenant, make_followup, smtp, redis_db, start_worker
):
    make_followup(tenant)
    queue = Queue(JobQueue.NOTIFICATIONS, connection=redis_db)
    assert queue.count == 1  # the job for both emails, queued after the commit
    redis_db.flushdb()  # Redis restarted empty: every queued job is gone
    assert queue.count == 0

    worker = start_worker()
    wait_for(all_sent, "the sweep to find and send both notifications", worker)
    no_duplicates_arrive(smtp, redis_db, expected=2)


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_nothing_after_success(
    app, tenant, make_followup, smtp, redis_db, start_worker
):
    smtp.accept_delay_s = 0.05  # each acceptance takes a while: the kill lands mid-send
    requests = 12
    first = start_worker()
    for _ in range(requests):
        make_followup(tenant)
    total = requests * 2

    wait_for(lambda: len(smtp.received()) >= 6, "the batch to be under way", first)
    first.kill()
    delivered_before_kill = len(smtp.received())
    assert delivered_before_kill < total, "the worker finished before it could be killed"

    second = start_worker()
    rows = wait_for(all_sent, "every notification after the restart", second)
    settle(redis_db)
    received = smtp.received()
    assert {mail.message_id for mail in received} == {row["provider_message_id"] for row in rows}
    # A copy may repeat only if it was accepted before its success was recorded (the
    # job in hand when the worker died); never after.
    sent_at = {row["provider_message_id"]: row["sent_at"].timestamp() for row in rows}
    assert all(mail.accepted_at <= sent_at[mail.message_id] for mail in received)
    assert len(received) - total <= 1, Counter(mail.message_id for mail in received)


def stopped_within(worker, timeout_s: float) -> int:
    """The worker's exit status; a failure that shows its log, and where each of its
    processes was stuck, when it did not stop."""
    try:
        return worker.process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        pytest.fail(f"The worker did not stop within {timeout_s} s:\n{worker.stacks()}")


@ONE_DATABASE
def test_sigterm_to_every_worker_process_lets_the_job_in_hand_finish(
    app, tenant, make_followup, smtp, start_worker
):
    configure_tenant(tenant, customer_confirmation_enabled=False)
    smtp.accept_delay_s = 1.0
    worker = start_worker()
    make_followup(tenant)
    wait_for(lambda: row_of("staff_email")["state"] == "sending", "the job to be in hand", worker)

    # What systemd or `docker stop` do: SIGTERM for every process of the service.
    for pid in session_members(worker.process.pid):
        os.kill(pid, signal.SIGTERM)
    # The job needs about 1 s; the rest is a margin for a loaded machine, where the
    # test once failed at 10 s. Graceful is what is checked here, not fast.
    assert stopped_within(worker, WAIT_S) == 0, worker.log()

    row = row_of("staff_email")
    assert (row["state"], row["attempts"]) == ("sent", 1)
    assert len(smtp.received()) == 1
    wait_for(lambda: not session_members(worker.process.pid), "its helper processes to stop")


def load_worker_script():
    """worker.py, the script, as a module (it is not in a package)."""
    spec = importlib.util.spec_from_file_location("worker_script", PROJECT_ROOT / "worker.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_stopping_worker_does_not_wait_for_its_command_listener(redis_db):
    worker_script = load_worker_script()
    worker = worker_script.FollowupWorker(
        [Queue("stop-test", connection=redis_db)], connection=redis_db
    )
    worker.subscribe()
    wait_for(lambda: worker.pubsub.subscribed, "the command channel to be subscribed")
    # The listener has seen the channel go and now waits up to a minute (RQ's sleep_time)
    # for a new subscription: redis-py's own stop() would wait that minute with it.
    worker.pubsub.unsubscribe()
    wait_for(lambda: not worker.pubsub.subscribed, "the listener to see the unsubscribe")

    stopping = threading.Thread(target=worker.unsubscribe)
    stopping.start()
    stopping.join(timeout=WAIT_S)
    assert not stopping.is_alive(), "unsubscribe waited for the listener's minute"
