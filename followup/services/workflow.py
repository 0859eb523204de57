"""The follow-up status workflow: the only place that knows which moves are allowed."""

from followup.errors import TransitionNotAllowed, ValidationFailed
from followup.locales import staff_gettext, staff_text
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
        advice = staff_gettext("use one of %(choices)s.", choices=known)
        raise ValidationFailed({"status": problem(staff_text("Status"), advice)}) from None


def allowed_next(current: str) -> tuple[Status, ...]:
    return ALLOWED_TRANSITIONS[Status(current)]


def check_transition(current: str, new: Status) -> None:
    """Raise with a message a person can act on when `current → new` is not allowed."""
    current_status = Status(current)
    if new in ALLOWED_TRANSITIONS[current_status]:
        return
    moves = [s.value.capitalize() for s in ALLOWED_TRANSITIONS[current_status]]
    if not moves:
        raise TransitionNotAllowed(
            staff_gettext(
                "This request is %(status)s, a final status; it cannot be changed.",
                status=current_status.value,
            )
        )
    named = {"status": current_status.value, "target": new.value.capitalize()}
    if len(moves) == 1:
        raise TransitionNotAllowed(
            staff_gettext(
                "A %(status)s request can move to %(move)s, not to %(target)s.",
                move=moves[0],
                **named,
            )
        )
    raise TransitionNotAllowed(
        staff_gettext(
            "A %(status)s request can move to %(moves)s or %(last)s, not to %(target)s.",
            moves=", ".join(moves[:-1]),
            last=moves[-1],
            **named,
        )
    )
