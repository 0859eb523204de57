"""Who wrote a message, as the customer sees it: the AI employee, or a staff member
signing for the business ("Anna · Acme team").

A staff reply keeps its author in its `action` (`{"staff": {"id", "name"}}`), with
the name as it was when they wrote: a reply stays signed by whoever wrote it, even
after a rename or once their account is gone. Only the first word of the name ever
reaches the customer.
"""

from flask_babel import gettext

from followup.models import Message, Role, StaffUser

STAFF_KEY = "staff"
# A first name longer than this is cut: the label must fit above a bubble on a phone.
MAX_FIRST_NAME = 40


def staff_author(staff_user: StaffUser) -> dict:
    """What a staff reply's `action` records of its author."""
    return {STAFF_KEY: {"id": staff_user.id, "name": staff_user.name or ""}}


def first_name(name: str | None) -> str:
    words = (name or "").split()
    if not words:
        return ""
    first = words[0]
    return first if len(first) <= MAX_FIRST_NAME else first[: MAX_FIRST_NAME - 1] + "…"


def author_name(message: Message) -> str:
    """The staff member's name on their reply; "" when unknown (older replies)."""
    staff = (message.action or {}).get(STAFF_KEY)
    name = staff.get("name") if isinstance(staff, dict) else None
    return name if isinstance(name, str) else ""


def team_label(business: str, staff_name: str | None) -> str:
    """ "Anna · Acme team"; "Acme team" when the staff member has no name."""
    team = gettext("%(business)s team", business=business)
    first = first_name(staff_name)
    return f"{first} · {team}" if first else team


def staff_sender(message: Message, business: str) -> str | None:
    """The label of a staff reply; None for anybody else's message."""
    if message.role != Role.STAFF:
        return None
    return team_label(business, author_name(message))
