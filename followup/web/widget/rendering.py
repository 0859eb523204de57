"""What every widget partial needs to render: the chat, its business, and the forms' state."""

from flask import Response, make_response, render_template

from followup.models import ActionType, Chat, Message, Tenant, response_promise
from followup.web.widget.access import customer_signed_in


def answered_forms(messages: list[Message]) -> set[int]:
    """Ids of form messages the customer already submitted: a request was created after them."""
    answered, open_form = set(), None
    for message in messages:
        kind = (message.action or {}).get("type")
        if kind == ActionType.FOLLOWUP_FORM:
            open_form = message.id
        elif kind == ActionType.FOLLOWUP_CREATED and open_form is not None:
            answered.add(open_form)
            open_form = None
    return answered


def render_piece(template: str, tenant: Tenant, chat: Chat, **context) -> str:
    """Render a piece of the chat; the shared macros read `tenant`, `chat`, `promise`."""
    context.setdefault("answered", set())
    return render_template(
        template, tenant=tenant, chat=chat, promise=response_promise(tenant), **context
    )


def partial(template: str, tenant: Tenant, chat: Chat, status: int = 200, **context) -> Response:
    response = make_response(render_piece(template, tenant, chat, **context), status)
    # Partials carry the customer's conversation: never from a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def account_state(chat: Chat) -> dict:
    return {"signed_in": customer_signed_in(chat)}
