"""Notification jobs: deliver notifications; sweep the outbox for lost ones.

The outbox imports this module to queue these jobs, so they import the outbox
when they run rather than at the top.
"""

from flask import current_app

from followup.queue import redis_connection

SWEEP_LOCK_KEY = "followup:notifications:sweep"


def deliver_notifications(notification_ids: list[int]) -> None:
    """A request's notifications one after the other (or one, for a retry): they
    share the job's process and database connection."""
    from followup.notify import outbox

    outbox.deliver(notification_ids)


def sweep_notifications() -> int:
    """Every worker's cron queues this; the lock lets one sweep per interval do the work."""
    from followup.notify import outbox

    lock_ms = int(current_app.config["NOTIFY_SWEEP_INTERVAL_S"] * 900)  # 90% of the interval
    if not redis_connection().set(SWEEP_LOCK_KEY, "1", nx=True, px=max(lock_ms, 100)):
        return 0
    return outbox.sweep()
