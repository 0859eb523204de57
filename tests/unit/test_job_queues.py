"""Which queue each job goes to, and which queues a worker serves (followup/queue.py)."""

import importlib
import subprocess
import sys

import pytest

from followup.queue import PRIORITY, QUEUE_OF, JobQueue, queue_name, serving
from tests.helpers.jobs import PROJECT_ROOT


def test_the_queues_go_from_the_customer_waiting_to_the_housekeeping():
    assert PRIORITY == ("answers", "notifications", "reminders", "maintenance")


@pytest.mark.parametrize("dotted", sorted(QUEUE_OF))
def test_every_job_named_in_the_map_exists_and_finds_its_queue(dotted):
    module, _, name = dotted.rpartition(".")
    job = getattr(importlib.import_module(module), name)
    assert queue_name(job) == QUEUE_OF[dotted]


def test_the_urgent_jobs_go_before_the_bulk_ones():
    from followup.jobs import notifications, reminders, sms

    assert queue_name(sms.answer_sms) == JobQueue.ANSWERS
    assert queue_name(notifications.deliver_notifications) == JobQueue.NOTIFICATIONS
    assert queue_name(reminders.send_reminders) == JobQueue.REMINDERS
    assert queue_name(reminders.sweep_due_reminders) == JobQueue.MAINTENANCE


def test_a_job_without_a_queue_is_refused_by_name():
    with pytest.raises(LookupError, match=r"add it to followup\.queue\.QUEUE_OF"):
        queue_name(test_a_job_without_a_queue_is_refused_by_name)


@pytest.mark.parametrize(
    ("asked", "served"),
    [
        ("", list(PRIORITY)),
        ("answers", ["answers"]),
        # Named in any order, served most urgent first.
        ("maintenance, answers", ["answers", "maintenance"]),
        ("reminders,notifications,", ["notifications", "reminders"]),
    ],
)
def test_a_worker_serves_the_queues_asked_in_priority_order(asked, served):
    assert serving(asked) == served


def test_an_unknown_queue_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="no queue named urgent; the queues are answers, "):
        serving("answers,urgent")


def test_the_worker_refuses_an_unknown_queue_before_it_starts(tmp_path):
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "worker.py"), "--queues", "urgent"],
        cwd=PROJECT_ROOT,
        env={"DATABASE_URL": f"sqlite:///{tmp_path}/unused.db", "SECRET_KEY": "x"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "worker.py: no queue named urgent" in result.stderr


@pytest.mark.parametrize(
    ("asked", "served"),
    [("", [*PRIORITY, "default"]), ("maintenance,answers", ["answers", "maintenance", "default"])],
)
def test_the_worker_also_serves_the_jobs_queued_before_the_upgrade_last(asked, served):
    """Jobs queued in RQ's `default` queue before the priority queues still run."""
    import worker

    assert worker.queue_names(asked) == served
