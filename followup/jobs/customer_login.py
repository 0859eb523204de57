"""Emailing a customer's one-time login link.

The request that asks for a link only queues this job (see
`services.customer_login.request_login_link`): looking the customer up and making the
link happen here, so the request takes the same time whether or not the email is
a customer's. A failed send is retried by RQ a few times, soon
(`queue.LOGIN_LINK_RETRY_INTERVALS_S`): the link lives 30 minutes and the customer
is waiting in the chat.
"""

from followup.services import customer_login


def email_login_link(chat_id: int, address: str, code_hash: str) -> None:
    # A new name for new arguments: a job queued before the upgrade, under an older
    # name, fails instead of reading its arguments as these.
    customer_login.email_login_link(chat_id, address, code_hash)
