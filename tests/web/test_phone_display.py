"""Phone numbers are stored in E.164 and shown in international format, through one
filter, wherever staff or customers read them."""

import re

import pytest

from followup.extensions import db
from followup.models import Channel, Customer, FollowUpRequest
from followup.services import tenant_settings, tenants
from followup.services.validation import international_phone
from tests.helpers.agents import make_agent, make_chat
from tests.helpers.apps import text_of

STORED = "+442071838750"
SHOWN = "+44 20 7183 8750"


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (STORED, SHOWN),
        ("+14155550100", "+1 415-555-0100"),
        ("+4930901820", "+49 30 901820"),
        (None, ""),
        ("", ""),
        ("not a number", "not a number"),  # shown as it is, never dropped
    ],
)
def test_the_filter_shows_international_format(stored, shown):
    assert international_phone(stored) == shown


def shown_numbers(body: str) -> set[str]:
    """Every phone number in the page's text (not in attributes such as tel: links)."""
    text = re.sub(r"<[^>]*>", " ", body)
    return set(re.findall(r"\+\d[\d -]{6,}\d", text))


@pytest.fixture
def with_phone(tenant, make_followup):
    """A request and its customer, the number typed the way people write it."""
    return make_followup(tenant, name="Aiko Tanaka", phone="+44 (0)20 7183 8750")


def test_a_typed_number_is_stored_in_e164(with_phone):
    db.session.expire_all()
    assert db.session.get(FollowUpRequest, with_phone.id).phone == STORED
    assert db.session.query(Customer).filter_by(name="Aiko Tanaka").one().phone == STORED


def test_followup_cards_and_detail_show_the_international_format(staff_browser, with_phone):
    for url in ("/admin/followups", f"/admin/followups/{with_phone.id}"):
        body = text_of(staff_browser.get(url))
        assert shown_numbers(body) == {SHOWN}, url
    detail = text_of(staff_browser.get(f"/admin/followups/{with_phone.id}", htmx=True))
    assert f'<a href="tel:{STORED}">{SHOWN}</a>' in detail  # dialled as stored


def test_users_list_and_detail_show_the_international_format(staff_browser, with_phone):
    customer = db.session.query(Customer).filter_by(name="Aiko Tanaka").one()
    for url in ("/admin/users", f"/admin/users/{customer.id}"):
        assert shown_numbers(text_of(staff_browser.get(url))) == {SHOWN}, url


def test_settings_show_the_contact_phone_and_sms_number_in_international_format(
    staff_browser, tenant
):
    tenant_settings.update_business(
        tenant.id, {"name": tenant.name, "timezone": "UTC", "contact_phone": "+442071838750"}
    )
    agent = make_agent(tenant, sms_number="+14155550100")
    settings = text_of(staff_browser.get("/admin/settings"))
    assert re.search(
        rf'id="contact_phone" name="contact_phone" value="{re.escape(SHOWN)}"', settings
    )
    channels = text_of(staff_browser.get(f"/admin/agents/{agent.id}/channels"))
    assert re.search(r'id="sms_number" name="sms_number" value="\+1 415-555-0100"', channels)
    # Saved again as shown, it is stored as before.
    staff_browser.post(
        "/admin/settings/business",
        {"name": tenant.name, "timezone": "UTC", "contact_phone": SHOWN},
        htmx=True,
    )
    db.session.expire_all()
    assert tenants.tenant_by_slug(tenant.slug).contact_phone == STORED


def test_an_sms_chat_shows_the_customers_number_in_international_format(staff_browser, tenant):
    chat = make_chat(make_agent(tenant), title="Aiko", channel=Channel.SMS, phone=STORED)
    body = text_of(staff_browser.get(f"/admin/chats/{chat.id}"))
    assert shown_numbers(body) == {SHOWN}


def test_the_widget_form_prefills_the_number_in_international_format(app, tenant):
    client = app.test_client()
    customer = '{"name": "Aiko", "email": "aiko@example.org", "phone": "+442071838750"}'
    started = client.post(f"/w/{tenant.widget_public_key}/chats", data={"customer": customer})
    assert started.status_code == 201, text_of(started)
    chat_id, token = started.headers["X-Chat-Id"], started.headers["X-Session-Token"]
    form = client.get(
        f"/w/{tenant.widget_public_key}/chats/{chat_id}/contact",
        headers={"HX-Request": "true", "Authorization": f"Bearer {token}"},
    )
    assert re.search(rf'name="phone" type="tel" value="{re.escape(SHOWN)}"', text_of(form))
