"""The follow-up status workflow: the only place that knows which moves are allowed."""

from followup.errors import TransitionNotAllowed, ValidationFailed
from followup.models import Status
from followup.services.validation import problem

ALLOWED_TRANSITIONS: dict[Status, tuple[Status, ...]] = {
    Status.PENDING: (Status.CONTACTED, Status.CANCELLED),
    Status.CONTACTED: (Status.RESOLVED, Status.CANCELLED),
    Status.RESOLVED: (),
    Status.CANCELLED: (),
}

# Requests the team has not closed yet: a move out of them is still allowed.
OPEN_STATUSES = tuple(status for status, moves in ALLOWED_TRANSITIONS.items() if moves)

# The timestamp column each status sets when a request enters it.
STATUS_TIMESTAMP: dict[Status, str] = {
    Status.CONTACTED: "contacted_at",
    Status.RESOLVED: "resolved_at",
    Status.CANCELLED: "cancelled_at",
}


def parse_status(value: object) -> Status:
    try:
        return Status(value)
    except ValueError:
        known = ", ".join(s.value for s in Status)
        advice = f"use one of {known}."
        raise ValidationFailed({"status": problem("Status", advice)}) from None


def allowed_next(current: str) -> tuple[Status, ...]:
    return ALLOWED_TRANSITIONS[Status(current)]


def check_transition(current: str, new: Status) -> None:
    """Raise with a message a person can act on when `current → new` is not allowed."""
    current_status = Status(current)
    if new in ALLOWED_TRANSITIONS[current_status]:
        return
    if not ALLOWED_TRANSITIONS[current_status]:
        raise TransitionNotAllowed(
            f"This request is {current_status.value}, a final status; it cannot be changed."
        )
    choices = " or ".join(s.value.capitalize() for s in ALLOWED_TRANSITIONS[current_status])
    raise TransitionNotAllowed(
        f"A {current_status.value} request can move to {choices}, not to {new.value.capitalize()}."
    )
