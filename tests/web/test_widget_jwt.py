"""The website's identity token (a JWT): what it must hold to sign a visitor in, the
rotated secret's grace period, and the business's "Require verified identity" rule.

Every test runs on a moved clock: a token's times are checked against ours, never today's."""

import base64
import json
import logging
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from followup.clock import utcnow
from followup.extensions import db
from followup.models import Chat, StaffRole, Tenant
from followup.services import chats, tenant_settings
from followup.services.prefill import identity_signature, prefill_for, visitor_from_website
from followup.services.widget_identity import (
    CLOCK_LEEWAY,
    MAX_TOKEN_LIFETIME,
    SECRET_GRACE,
    Refusal,
    SignInRequired,
    TokenRefused,
    verified_claims,
)
from tests.helpers.widget import SURFACES, SurfaceChat

ADA = {
    "sub": "cust-42",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "+14155550100",
}


def claims(**changes) -> dict:
    """Ada's claims, issued now and valid for an hour; None removes a claim."""
    now = int(utcnow().timestamp())
    values = ADA | {"iat": now, "exp": now + 3600} | changes
    return {name: value for name, value in values.items() if value is not None}


def token_for(secret: str, payload: dict | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims() if payload is None else payload, secret, algorithm=algorithm)


def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def refusal_of(tenant: Tenant, token: object) -> Refusal:
    with pytest.raises(TokenRefused) as refused:
        verified_claims(tenant, token)
    return refused.value.refusal


def in_seconds(delta: timedelta) -> int:
    return int((utcnow() + delta).timestamp())


def stored_tenant(tenant: Tenant) -> Tenant:
    db.session.expire_all()
    return db.session.get(Tenant, tenant.id)


# --- a valid token -----------------------------------------------------------------------------


def test_a_valid_token_signs_the_visitor_in_with_its_details(tenant, moved_clock):
    opened = chats.start_chat(tenant.widget_public_key, {"token": token_for(tenant.widget_secret)})

    chat = opened.chat
    assert chat.visitor == {
        "id": "cust-42",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+14155550100",
        "verified": True,
    }
    assert chat.customer.external_id == "cust-42" and chat.customer.name == "Ada Lovelace"
    prefill = prefill_for(chat, chats.history(chat))
    assert (prefill.name, prefill.email, prefill.phone) == (
        "Ada Lovelace",
        "ada@example.com",
        "+14155550100",
    )


def test_empty_name_email_and_phone_mean_not_known(tenant, moved_clock):
    token = token_for(tenant.widget_secret, claims(name="", email="", phone=""))
    visitor = visitor_from_website(tenant, {"token": token})
    assert visitor == {
        "id": "cust-42",
        "name": None,
        "email": None,
        "phone": None,
        "verified": True,
    }


def test_a_token_lasting_exactly_the_longest_lifetime_is_accepted(tenant, moved_clock):
    token = token_for(tenant.widget_secret, claims(exp=in_seconds(MAX_TOKEN_LIFETIME)))
    assert verified_claims(tenant, token)["sub"] == "cust-42"


def test_an_iat_slightly_ahead_is_a_clock_difference_and_accepted(tenant, moved_clock):
    token = token_for(tenant.widget_secret, claims(iat=in_seconds(CLOCK_LEEWAY / 2)))
    assert verified_claims(tenant, token)["sub"] == "cust-42"


# --- refused tokens ----------------------------------------------------------------------------


def test_an_expired_token_is_refused(tenant, moved_clock):
    token = token_for(tenant.widget_secret)
    assert verified_claims(tenant, token)
    moved_clock.shift(timedelta(hours=1, seconds=1))
    assert refusal_of(tenant, token) == Refusal.EXPIRED


def test_a_token_living_longer_than_a_day_is_refused(tenant, moved_clock):
    exp = in_seconds(MAX_TOKEN_LIFETIME + timedelta(minutes=1))
    assert refusal_of(tenant, token_for(tenant.widget_secret, claims(exp=exp))) == Refusal.TOO_LONG


def test_a_token_issued_in_the_future_is_refused(tenant, moved_clock):
    iat = in_seconds(CLOCK_LEEWAY + timedelta(minutes=5))
    token = token_for(tenant.widget_secret, claims(iat=iat))
    assert refusal_of(tenant, token) == Refusal.ISSUED_IN_FUTURE


def test_a_token_signed_with_another_secret_is_refused(tenant, other_tenant, moved_clock):
    assert refusal_of(tenant, token_for(other_tenant.widget_secret)) == Refusal.SIGNATURE
    assert refusal_of(tenant, token_for(tenant.widget_secret + "x")) == Refusal.SIGNATURE


@pytest.mark.parametrize("claim", ["sub", "name", "email", "phone", "exp"])
def test_a_token_without_a_required_claim_is_refused(tenant, moved_clock, claim):
    token = token_for(tenant.widget_secret, claims(**{claim: None}))
    assert refusal_of(tenant, token) == Refusal.MISSING_CLAIM


BAD_CLAIMS = {
    "sub-number": {"sub": 42},
    "sub-empty": {"sub": ""},
    "sub-long": {"sub": "x" * 201},
    "name-number": {"name": 7},
    "email-list": {"email": ["a"]},
    "exp-text": {"exp": "tomorrow"},
    "exp-bool": {"exp": True},
    "exp-huge": {"exp": 10**20},
    "exp-nan": {"exp": float("nan")},
    "iat-text": {"iat": "now"},
}


@pytest.mark.parametrize("changes", BAD_CLAIMS.values(), ids=BAD_CLAIMS.keys())
def test_a_claim_of_the_wrong_kind_is_refused(tenant, moved_clock, changes):
    token = token_for(tenant.widget_secret, claims(**changes))
    assert refusal_of(tenant, token) == Refusal.BAD_CLAIM


def test_alg_none_is_refused(tenant, moved_clock):
    """Crafted by hand: no library signs with "none" by default."""
    unsigned = b64url({"alg": "none", "typ": "JWT"}) + "." + b64url(claims()) + "."
    assert refusal_of(tenant, unsigned) == Refusal.ALGORITHM
    visitor = visitor_from_website(tenant, {"token": unsigned})
    assert visitor == {"verified": False}


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # made on purpose
def test_hs512_is_refused_even_with_the_right_secret(tenant, moved_clock):
    token = token_for(tenant.widget_secret, algorithm="HS512")
    assert refusal_of(tenant, token) == Refusal.ALGORITHM


def test_rs256_is_refused(tenant, moved_clock):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert refusal_of(tenant, token_for(key, algorithm="RS256")) == Refusal.ALGORITHM


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c", 42, None, ["x"], "x" * 4001])
def test_garbage_is_no_identity_and_never_an_error(tenant, moved_clock, token):
    assert refusal_of(tenant, token) == Refusal.MALFORMED
    visitor = visitor_from_website(tenant, {"token": token, "id": "cust-42"})
    assert visitor == {"verified": False}


def test_a_refused_token_is_logged_by_reason_never_by_content(tenant, moved_clock, caplog):
    token = token_for(tenant.widget_secret, claims(exp=in_seconds(-timedelta(minutes=1))))
    with caplog.at_level(logging.INFO):
        visitor_from_website(tenant, {"token": token})
    assert "expired" in caplog.text
    assert token not in caplog.text and "ada@example.com" not in caplog.text


def test_a_token_is_the_whole_identity_an_hmac_beside_it_is_ignored(tenant, moved_clock):
    """A website sends one or the other; a bad token is not rescued by a signature."""
    expired = token_for(tenant.widget_secret, claims(exp=in_seconds(-timedelta(seconds=1))))
    signed = {"id": "cust-42", "signature": identity_signature(tenant.widget_secret, "cust-42")}
    assert visitor_from_website(tenant, signed | {"token": expired})["verified"] is False


# --- the previous secret's grace period --------------------------------------------------------


def rotated(tenant: Tenant) -> Tenant:
    tenant_settings.rotate_widget_secret(tenant.id, "owner")
    return stored_tenant(tenant)


def test_the_previous_secret_verifies_during_the_grace_and_not_after(tenant, moved_clock):
    old_secret = tenant.widget_secret
    tenant = rotated(tenant)
    old_hmac = {"id": "cust-42", "signature": identity_signature(old_secret, "cust-42")}

    moved_clock.shift(SECRET_GRACE - timedelta(minutes=2))
    assert verified_claims(tenant, token_for(old_secret))["sub"] == "cust-42"
    assert visitor_from_website(tenant, old_hmac)["verified"] is True

    moved_clock.shift(timedelta(minutes=3))
    assert refusal_of(tenant, token_for(old_secret)) == Refusal.SIGNATURE
    assert visitor_from_website(tenant, old_hmac)["verified"] is False
    assert verified_claims(tenant, token_for(tenant.widget_secret))["sub"] == "cust-42"


def test_a_second_rotation_ends_the_oldest_secret_at_once(tenant, moved_clock):
    first_secret = tenant.widget_secret
    tenant = rotated(tenant)
    second_secret = tenant.widget_secret
    tenant = rotated(tenant)
    assert refusal_of(tenant, token_for(first_secret)) == Refusal.SIGNATURE
    assert verified_claims(tenant, token_for(second_secret))["sub"] == "cust-42"


# --- "Require verified identity" ---------------------------------------------------------------


@pytest.fixture
def strict_tenant(tenant) -> Tenant:
    tenant_settings.update_widget_identity(
        tenant.id,
        {"require_verified_identity": True, "sign_in_url": "https://www.acme.example/login"},
        StaffRole.OWNER,
    )
    return stored_tenant(tenant)


def chat_count() -> int:
    return db.session.query(Chat).count()


@pytest.mark.parametrize(
    "customer",
    [None, {}, {"id": "cust-42", "name": "Ada"}, {"id": "cust-42", "signature": "00" * 32}],
    ids=["nothing", "empty", "unsigned", "bad-signature"],
)
def test_required_identity_refuses_an_unsigned_visitor(strict_tenant, moved_clock, customer):
    with pytest.raises(SignInRequired) as refused:
        chats.start_chat(strict_tenant.widget_public_key, customer)
    assert refused.value.message == "Please sign in on acme.example to chat with us."
    assert refused.value.sign_in_url == "https://www.acme.example/login"
    assert chat_count() == 0


def test_required_identity_refuses_an_expired_token(strict_tenant, moved_clock):
    token = token_for(strict_tenant.widget_secret)
    moved_clock.shift(timedelta(hours=2))
    with pytest.raises(SignInRequired):
        chats.start_chat(strict_tenant.widget_public_key, {"token": token})
    assert chat_count() == 0


def test_required_identity_accepts_hmac_and_token(strict_tenant, moved_clock):
    secret = strict_tenant.widget_secret
    signed = {"id": "cust-7", "signature": identity_signature(secret, "cust-7")}
    assert chats.start_chat(strict_tenant.widget_public_key, signed).chat.visitor["verified"]
    by_token = chats.start_chat(strict_tenant.widget_public_key, {"token": token_for(secret)})
    assert by_token.chat.visitor["verified"] and by_token.chat.visitor["id"] == "cust-42"


def test_without_the_rule_an_unsigned_visitor_chats_as_before(tenant, moved_clock):
    opened = chats.start_chat(tenant.widget_public_key, {"id": "cust-42", "name": "Ada"})
    assert opened.chat.visitor["verified"] is False and opened.chat.customer_id is None


@pytest.mark.parametrize("surface", SURFACES)
def test_both_widget_surfaces_ask_an_unsigned_visitor_to_sign_in(
    app, strict_tenant, moved_clock, surface
):
    client = app.test_client()
    key = strict_tenant.widget_public_key
    if surface == "widget":
        response = client.post(f"/w/{key}/chats", data={"customer": '{"id": "cust-42"}'})
        page = response.get_data(as_text=True)
        assert response.status_code == 403 and "X-Session-Token" not in response.headers
        assert "Please sign in on acme.example to chat with us." in page
        assert 'href="https://www.acme.example/login" target="_top"' in page
    else:
        tenant_settings.update_allowed_origins(strict_tenant.id, "https://shop.example", "owner")
        response = client.post(
            f"/api/widget/v1/{key}/sessions",
            json={"customer": {"id": "1"}},
            headers={"Origin": "https://shop.example"},
        )
        assert response.status_code == 403
        # The website's own page may read why: the answer is the tenant's, like any other.
        assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
        assert response.json["error"] == {
            "code": "sign_in_required",
            "message": "Please sign in on acme.example to chat with us.",
            "fields": {},
            "sign_in_url": "https://www.acme.example/login",
        }
    assert chat_count() == 0


@pytest.mark.parametrize("surface", SURFACES)
def test_both_widget_surfaces_sign_a_token_in(app, strict_tenant, moved_clock, surface):
    visitor = SurfaceChat(
        app, strict_tenant, surface, customer={"token": token_for(strict_tenant.widget_secret)}
    )
    chat = db.session.get(Chat, visitor.chat_id)
    assert chat.visitor["verified"] and chat.customer.external_id == "cust-42"


@pytest.mark.parametrize("surface", SURFACES)
def test_a_chat_begun_unsigned_stops_when_the_rule_is_switched_on(app, tenant, surface):
    visitor = SurfaceChat(app, tenant, surface, customer={"id": "cust-42"})
    tenant_settings.update_widget_identity(
        tenant.id,
        {"require_verified_identity": True, "sign_in_url": "https://acme.example/in"},
        StaffRole.OWNER,
    )
    if surface == "widget":
        restored = visitor.client.get(
            f"/w/{visitor.key}/chats/{visitor.chat_id}", headers=visitor._headers()
        )
        assert restored.status_code == 403
        assert "Please sign in on acme.example to chat with us." in restored.text
        assert 'href="https://acme.example/in"' in restored.text
    else:
        sent = visitor.client.post(
            f"/api/widget/v1/chats/{visitor.chat_id}/messages",
            json={"text": "Still there?"},
            headers=visitor._headers(),
        )
        assert sent.status_code == 403 and sent.json["error"]["code"] == "sign_in_required"
        assert sent.json["error"]["sign_in_url"] == "https://acme.example/in"
    assert [m.content for m in chats.history(db.session.get(Chat, visitor.chat_id))][1:] == []
