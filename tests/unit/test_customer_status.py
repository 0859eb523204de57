"""A customer is a Guest until they prove the email is theirs; then Registered."""

from followup.models import CUSTOMER_GUEST, CUSTOMER_REGISTERED, Source
from followup.services import chats, followups
from tests.unit.test_chat_service import log_in, say, signed, start


def status_of(followup) -> str:
    return followups.get_followup(followup.tenant_id, followup.id).customer.status


def test_a_guest_who_submits_a_form_stays_a_guest(tenant, fake_llm):
    chat = start(tenant)
    say(chat, "talk to a person")
    followup = chats.submit_followup(
        chat, {"name": "Ann", "email": "ann@example.com", "reason": "A quote"}
    )
    assert status_of(followup) == CUSTOMER_GUEST


def test_the_websites_signed_identity_registers_the_customer(tenant, fake_llm):
    chat = start(tenant, signed(tenant, email="signed@example.com", name="Sig"))
    say(chat, "talk to a person")
    followup = chats.submit_followup(
        chat, {"name": "Sig", "email": "signed@example.com", "reason": "Bulk order"}
    )
    assert status_of(followup) == CUSTOMER_REGISTERED


def test_opening_a_login_link_registers_the_guest(tenant, fake_llm):
    followup = followups.create_followup(
        tenant.id, {"name": "Ann", "email": "ann@example.com", "reason": "A quote"}, Source.API
    )
    assert status_of(followup) == CUSTOMER_GUEST
    log_in(start(tenant), followup.customer)
    assert status_of(followup) == CUSTOMER_REGISTERED
