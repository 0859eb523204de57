"""What the public widget client sees of messages and requests.

Only what the customer may know: never the model, token counts, staff notes or
anything else kept for the team.
"""

from followup.clock import iso_utc
from followup.models import Customer, FollowUpRequest, Message
from followup.services import senders

# The AI's summary and priority are notes for the team, not for the customer; a staff
# reply's author record (their id and whole name) too: `sender` says what they may know.
_TEAM_ONLY_ACTION_KEYS = frozenset({"summary", "priority", senders.STAFF_KEY})


def action_json(action: dict | None) -> dict | None:
    shown = {
        key: value for key, value in (action or {}).items() if key not in _TEAM_ONLY_ACTION_KEYS
    }
    return shown or None


def message_json(message: Message, business: str | None = None) -> dict:
    """`business`: the tenant's name, which a staff reply's `sender` needs ("Anna · Acme
    team"). A turn's own messages (the customer's, the AI's) are never staff replies."""
    return {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "mode": message.mode,
        "created_at": iso_utc(message.created_at),
        "action": action_json(message.action),
        "sender": None if business is None else senders.staff_sender(message, business),
    }


def turn_json(client_message: dict, agent_message: Message | None) -> dict:
    """One turn: the customer's message (as `message_json`), the agent's answer (none
    while a staff member is in charge of the chat), and what the UI should show."""
    answers = [] if agent_message is None else [agent_message]
    return {
        "messages": [client_message, *(message_json(m) for m in answers)],
        "actions": [action_json(m.action) for m in answers if m.action],
    }


def customer_request_json(followup: FollowUpRequest) -> dict:
    return {
        "id": followup.id,
        "reason": followup.reason,
        "status": followup.status,
        "source": followup.source,
        "created_at": iso_utc(followup.created_at),
        "contacted_at": iso_utc(followup.contacted_at),
        "resolved_at": iso_utc(followup.resolved_at),
        "cancelled_at": iso_utc(followup.cancelled_at),
    }


def customer_json(customer: Customer | None) -> dict | None:
    return None if customer is None else {"name": customer.name or None, "email": customer.email}
