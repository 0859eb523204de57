"""A website chat driven through the chat service, as the widget drives it: start it,
say something and get the agent's reply, sign the customer, log them in."""

import re

from followup.extensions import mail
from followup.models import Chat, Message
from followup.services import chats, customer_login
from followup.services.prefill import identity_signature


def start(tenant, customer=None) -> Chat:
    chat = chats.start_chat(tenant.widget_public_key, customer).chat
    return chat


def say(chat, text, mode="text") -> Message:
    chats.post_client_message(chat, text, mode)
    return chats.reply(chat)


def signed(tenant, **fields):
    return fields | {
        "id": "cust-42",
        "signature": identity_signature(tenant.widget_secret, "cust-42"),
    }


def log_in(chat, customer) -> None:
    """Log in the way a customer does: the emailed one-time link, opened."""
    with mail.record_messages() as outbox:
        code = customer_login.request_login_link(chat, customer.email)
    token = re.search(r"/customer-login/(\S+)", outbox[0].body).group(1)
    customer_login.consume_login_link(token, code)
