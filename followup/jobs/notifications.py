"""Notification jobs: deliver notifications; sweep the outbox for lost ones
(`services.notifications`)."""

from followup.services import notifications, promise


def deliver_notifications(notification_ids: list[int]) -> None:
    """A request's notifications one after the other (or one, for a retry): they
    share the job's process and database connection."""
    notifications.deliver(notification_ids)


def sweep_notifications() -> int:
    """Cron job: queue a delivery for every notification whose job was lost."""
    return notifications.sweep_once_per_interval()


def sweep_promises() -> int:
    """Cron job: raise the at-risk and overdue alerts that are due."""
    return promise.sweep_once_per_interval()
