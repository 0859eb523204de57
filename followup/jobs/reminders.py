"""Reminder jobs: the wake-up for a second in which reminders fall due, the batches it
shares among the workers, the sweep for due ones whose wake-up was lost, and the
replan of an agent's chains (`services.reminder_sending`, `services.autofollowup`)."""

from followup.services import autofollowup, reminder_sending


def send_due_reminders(second: int) -> str:
    """The wake-up for one second: send what fell due in it."""
    return reminder_sending.send_due(second)


def send_reminders(items: list[reminder_sending.Item]) -> str:
    """Send a batch of claimed reminders."""
    return reminder_sending.send_batch(items)


def sweep_due_reminders() -> int:
    """Cron job: queue, in batches, every due reminder nobody has claimed."""
    return reminder_sending.sweep()


def replan_agent_chains(agent_id: int) -> int:
    """Plan again every pending reminder of an agent whose settings changed."""
    return autofollowup.replan_agent_chains(agent_id)
