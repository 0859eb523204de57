"""What the public widget client sees of messages and requests.

Only what the customer may know: never the model, token counts, staff notes or
anything else kept for the team.
"""

from followup.clock import iso_utc
from followup.models import Customer, FollowUpRequest, Message

# The AI's summary and priority are notes for the team, not for the customer.
_TEAM_ONLY_ACTION_KEYS = frozenset({"summary", "priority"})


def action_json(action: dict | None) -> dict | None:
    if action is None:
        return None
    return {key: value for key, value in action.items() if key not in _TEAM_ONLY_ACTION_KEYS}


def message_json(message: Message) -> dict:
    return {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "mode": message.mode,
        "created_at": iso_utc(message.created_at),
        "action": action_json(message.action),
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
