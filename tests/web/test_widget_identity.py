"""What the website's signature vouches for: the customer's id, nothing else.

A signed id signs the chat in as the customer keyed by (tenant, id), on both widget
surfaces (the HTMX page and the JSON API); the email, name and phone beside it only
pre-fill. Nothing unsigned unlocks another customer's requests, a Verified mark on a
new request, or a greeting by name; a malformed signature is simply no signature."""

import pytest

from followup.extensions import db
from followup.models import Chat, Customer, CustomerStatus, FollowUpRequest
from followup.services import chats
from followup.services.prefill import identity_signature, visitor_from_website
from tests.helpers.widget import SURFACES, SurfaceChat

SAM = {"name": "Sam Carter", "email": "sam@example.com"}


def signed_as(tenant, external_id: str, **fields) -> dict:
    return {
        "id": external_id,
        "signature": identity_signature(tenant.widget_secret, external_id),
    } | fields


class Visitor(SurfaceChat):
    """One browser's chat through the widget page (HTMX) or the JSON client API."""

    def __init__(self, app, tenant, surface: str, customer: dict | None):
        super().__init__(app, tenant, surface, customer=customer)

    def greeting(self) -> str:
        return chats.history(stored(Chat, self.chat_id))[0].content

    def submit(self, **fields) -> int:
        """Send the follow-up form; the saved request's id."""
        form = SAM | {"reason": "A quote"} | fields
        if self.surface == "widget":
            sent = self.client.post(
                f"/w/{self.key}/chats/{self.chat_id}/followups",
                data=form | {"form_key": "contact"},
                headers=self._headers(),
            )
            assert sent.status_code == 200, sent.text
            db.session.rollback()
            return db.session.query(FollowUpRequest).filter_by(chat_id=self.chat_id).one().id
        sent = self.client.post(
            f"/api/widget/v1/chats/{self.chat_id}/followups", json=form, headers=self._headers()
        )
        assert sent.status_code == 201, sent.text
        return sent.json["id"]


def stored(model, row_id: int):
    db.session.rollback()
    return db.session.get(model, row_id)


@pytest.mark.parametrize("surface", SURFACES)
def test_a_valid_signature_beside_somebody_elses_email_unlocks_nothing_of_theirs(
    app, tenant, make_followup, surface
):
    """Mallory signs in with her own valid (id, signature) and Sam's email and name: the
    form is pre-filled with them, and she sends it. Her chat lists her request only,
    never Sam's; hers is not marked verified; Sam stays a guest; nobody greets her as Sam."""
    sam = make_followup(tenant, **SAM, reason="Sam's private matter")
    mallory = Visitor(app, tenant, surface, signed_as(tenant, "mallory-1", **SAM))
    assert "Sam" not in mallory.greeting()

    request_id = mallory.submit(reason="Prying")

    assert mallory.my_requests() == ["Prying"]
    new = stored(FollowUpRequest, request_id)
    assert new.identity_verified is False
    assert new.customer.external_id == "mallory-1" and new.customer_id != sam.customer_id
    sam_record = stored(Customer, sam.customer_id)
    assert sam_record.status == CustomerStatus.GUEST
    assert db.session.query(Chat).filter_by(customer_id=sam_record.id).count() == 0


@pytest.mark.parametrize("surface", SURFACES)
def test_a_signed_id_is_the_same_customer_in_every_chat(app, tenant, surface):
    """Keyed by the website's id, not by the email: a later chat of the same id lists the
    requests whatever email comes with it; the same id unsigned lists nothing."""
    first = Visitor(app, tenant, surface, signed_as(tenant, "cust-42", email="ada@example.com"))
    first.submit(name="Ada", email="ada@example.com", reason="Invoice 42")

    later = Visitor(app, tenant, surface, signed_as(tenant, "cust-42", email="new@example.com"))
    assert later.my_requests() == ["Invoice 42"]
    unsigned = Visitor(app, tenant, surface, {"id": "cust-42", "email": "ada@example.com"})
    assert unsigned.my_requests() == []
    assert db.session.query(Customer).filter_by(external_id="cust-42").count() == 1


# Non-hex, non-ASCII (compare_digest refuses a str with those), fullwidth digits, not text.
@pytest.mark.parametrize("signature", ["é" * 64, "ü", "\uff10" * 64, "zz" * 32, 12345, ["a"], None])
@pytest.mark.parametrize("surface", SURFACES)
def test_a_malformed_signature_is_no_signature_and_never_an_error(app, tenant, surface, signature):
    visitor = Visitor(app, tenant, surface, {"id": "cust-42", "signature": signature, **SAM})
    chat = stored(Chat, visitor.chat_id)
    assert chat.visitor["verified"] is False and chat.customer_id is None
    assert visitor.my_requests() == []


@pytest.mark.parametrize("external_id", ["cust-\ud800", "\ud800"])
def test_an_id_that_cannot_be_encoded_is_not_verified(tenant, external_id):
    """A lone surrogate (JSON can carry one) cannot be signed: unverified, no error."""
    customer = {"id": external_id, "signature": "\ud800" * 64}
    assert visitor_from_website(tenant, customer)["verified"] is False
