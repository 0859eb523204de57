"""A customer is a Guest until they prove the email is theirs; then Registered."""

from followup.models import CustomerStatus, Source
from followup.services import chats, followups
from tests.helpers.chats import log_in, say, signed, start


def status_of(followup) -> str:
    return followups.get_followup(followup.tenant_id, followup.id).customer.status


def test_a_guest_who_submits_a_form_stays_a_guest(tenant, fake_llm):
    chat = start(tenant)
    say(chat, "talk to a person")
    followup = chats.submit_followup(
        chat, {"name": "Ann", "email": "ann@example.com", "reason": "A quote"}
    ).followup
    assert status_of(followup) == CustomerStatus.GUEST


def test_a_signed_id_proves_no_email_so_nobody_is_registered(tenant, fake_llm):
    """The website's signature covers its customer's id: the request is that customer's,
    and no email (not even the one the website sent) is proved by it."""
    guest = followups.create_followup(
        tenant.id, {"name": "Sig", "email": "signed@example.com", "reason": "Old"}, Source.API
    )
    chat = start(tenant, signed(tenant, email="signed@example.com", name="Sig"))
    say(chat, "talk to a person")
    followup = chats.submit_followup(
        chat, {"name": "Sig", "email": "signed@example.com", "reason": "Bulk order"}
    ).followup
    assert followup.customer.external_id == "cust-42"
    assert followup.customer_id != guest.customer_id
    assert status_of(followup) == status_of(guest) == CustomerStatus.GUEST


def test_opening_a_login_link_registers_the_guest(tenant, fake_llm):
    followup = followups.create_followup(
        tenant.id, {"name": "Ann", "email": "ann@example.com", "reason": "A quote"}, Source.API
    )
    assert status_of(followup) == CustomerStatus.GUEST
    log_in(start(tenant), followup.customer)
    assert status_of(followup) == CustomerStatus.REGISTERED
