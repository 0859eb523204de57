"""Reminders counted as sent or failed (followup/metrics.py), read through /metrics:
a model that cannot write the reminder is a failure, tried again later; the try that
works is the one send. Jobs run in the test's process, on a moved clock."""

from datetime import timedelta

from tests.helpers.chains import START, client_says, refreshed, run_due, step_positions
from tests.helpers.metrics import parsed, value

HOUR = timedelta(hours=1)


def reminders_counted(app) -> dict[str, float]:
    samples = parsed(app.test_client().get("/metrics").text)
    return {
        outcome: value(samples, "followup_reminders_total", outcome=outcome)
        for outcome in ("sent", "failed")
    }


def test_a_reminder_the_model_could_not_write_counts_failed_then_sent(chat, clock, fake_llm, app):
    client_says(chat)
    before = reminders_counted(app)
    fake_llm.behaviour.fail_status = 500
    clock.move_to(START + 4 * HOUR)
    run_due()
    clock.move_to(refreshed(chat).chain_due_at)
    run_due()
    fake_llm.behaviour.fail_status = None
    clock.move_to(refreshed(chat).chain_due_at)
    run_due()
    assert step_positions(chat) == [1]
    after = reminders_counted(app)
    assert after["failed"] - before["failed"] == 2
    assert after["sent"] - before["sent"] == 1
