"""Notification jobs: deliver notifications; sweep the outbox for lost ones
(`services.notifications`)."""

from flask import current_app

from followup.queue import redis_connection
from followup.services import notifications

SWEEP_LOCK_KEY = "followup:notifications:sweep"


def deliver_notifications(notification_ids: list[int]) -> None:
    """A request's notifications one after the other (or one, for a retry): they
    share the job's process and database connection."""
    notifications.deliver(notification_ids)


def sweep_notifications() -> int:
    """Every worker's cron queues this; the lock lets one sweep per interval do the work."""
    lock_ms = int(current_app.config["NOTIFY_SWEEP_INTERVAL_S"] * 900)  # 90% of the interval
    if not redis_connection().set(SWEEP_LOCK_KEY, "1", nx=True, px=max(lock_ms, 100)):
        return 0
    return notifications.sweep()
