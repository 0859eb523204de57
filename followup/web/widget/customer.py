"""The follow-up form (offered by the AI, or through "Contact us"), log-in and "My requests"."""

import re

from followup.clock import utcnow
from followup.errors import ValidationFailed
from followup.services import chat_identity, chats, customer_login, idempotency
from followup.web.chat_session import session_chat
from followup.web.rate_limits import per_ip
from followup.web.widget import bp
from followup.web.widget.access import customer_signed_in
from followup.web.widget.forms import FollowupForm, LoginLinkForm
from followup.web.widget.limits import per_session
from followup.web.widget.rendering import partial

# "contact" is the form of the Contact us panel; "m<id>" the one in message <id>.
# The key only names the form's elements in the page.
_FORM_KEY = re.compile(r"^(contact|m\d{1,10})$")


def _checked_form_key(key: str) -> str:
    if not _FORM_KEY.match(key):
        raise ValidationFailed({"form_key": "Unknown form."})
    return key


@bp.get("/w/<public_key>/chats/<int:chat_id>/contact")
@per_ip("WIDGET_READS_LIMIT_PER_IP")
@per_session("WIDGET_READS_LIMIT_PER_SESSION")
def contact_form(public_key: str, chat_id: int):
    """The follow-up form without the AI: a lead is never lost to a model that will not offer it."""
    tenant, chat = session_chat(chat_id, public_key)
    if not tenant.followups_enabled:
        raise chats.FollowupsDisabled()
    action = chats.followup_form_action(chat, tenant)
    return partial("widget/_contact.html", tenant, chat, values=action["prefill"], errors={})


@bp.post("/w/<public_key>/chats/<int:chat_id>/followups")
@per_ip("WIDGET_FOLLOWUPS_LIMIT_PER_IP")
@per_session("WIDGET_FOLLOWUPS_LIMIT_PER_SESSION")
def submit_followup(public_key: str, chat_id: int):
    tenant, chat = session_chat(chat_id, public_key)
    form = FollowupForm.posted()
    form_key = _checked_form_key(form.form_key.data)
    values = form.details()
    form_id = idempotency.checked_key(form.form_id.data or None)
    try:
        submitted = chats.submit_followup(chat, values, form_id=form_id)
    except ValidationFailed as exc:
        return partial(
            "widget/_followup_form.html",
            tenant,
            chat,
            422,
            form_key=form_key,
            form_id=form_id,
            values=values,
            errors=exc.fields,
        )
    # The confirmation replaces the form; the agent's thank-you joins the conversation
    # (the same one when the form is sent again).
    return partial(
        "widget/_followup_sent.html",
        tenant,
        chat,
        form_key=form_key,
        messages=[submitted.thanks] if submitted.thanks else [],
    )


@bp.get("/w/<public_key>/chats/<int:chat_id>/login")
@per_ip("WIDGET_READS_LIMIT_PER_IP")
@per_session("WIDGET_READS_LIMIT_PER_SESSION")
def login_form(public_key: str, chat_id: int):
    tenant, chat = session_chat(chat_id, public_key)
    return partial("widget/_login.html", tenant, chat, email="", errors={})


@bp.post("/w/<public_key>/chats/<int:chat_id>/login")
@per_ip("WIDGET_LOGIN_LINK_LIMIT_PER_IP")
@per_session("WIDGET_LOGIN_LINK_LIMIT_PER_SESSION")
def request_login_link(public_key: str, chat_id: int):
    tenant, chat = session_chat(chat_id, public_key)
    email = LoginLinkForm.posted().email.data
    try:
        code = customer_login.request_login_link(chat, email)
    except ValidationFailed as exc:
        return partial("widget/_login.html", tenant, chat, 422, email=email, errors=exc.fields)
    # The same answer whether or not the address is known: nobody can probe for customers.
    ttl_minutes = int(customer_login.LOGIN_LINK_TTL.total_seconds() // 60)
    return partial("widget/_login_sent.html", tenant, chat, ttl_minutes=ttl_minutes, code=code)


@bp.get("/w/<public_key>/chats/<int:chat_id>/requests")
@per_ip("WIDGET_READS_LIMIT_PER_IP")
@per_session("WIDGET_READS_LIMIT_PER_SESSION")
def my_requests(public_key: str, chat_id: int):
    tenant, chat = session_chat(chat_id, public_key)
    signed_in = customer_signed_in(chat)
    return partial(
        "widget/_requests.html",
        tenant,
        chat,
        signed_in=signed_in,
        requests=chat_identity.requests_of(chat) if signed_in else [],
        now=utcnow(),
    )
