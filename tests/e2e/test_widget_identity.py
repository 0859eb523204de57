"""The widget in real Chromium when the business requires a verified identity: an
unsigned visitor is asked to sign in on the website, a visitor the website signed in
with a token (a JWT) chats, greeted as usual, with their details in the form.

The token is made as the website's server would (PyJWT), on the app's own clock."""

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from playwright.sync_api import expect

from followup.clock import utcnow
from followup.extensions import db
from followup.models import Chat, Tenant
from tests.helpers.embedded_widget import (
    CUSTOMER,
    DESKTOP,
    Shop,
    host_page,
    launcher,
    open_widget,
)

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
SIGN_IN_URL = "https://www.acme.example/login"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def require_identity(widget_app_server) -> Iterator:
    """Switches the shop's "Require verified identity"; off again after the test."""

    def require(on: bool) -> None:
        with widget_app_server.app.app_context():
            tenant = db.session.query(Tenant).filter_by(slug="acme").one()
            tenant.require_verified_identity = on
            tenant.sign_in_url = SIGN_IN_URL if on else None
            db.session.commit()
            db.session.remove()

    yield require
    require(False)


@pytest.fixture
def strict_shop(shop: Shop, require_identity) -> Shop:
    """The shop with "Require verified identity" on, for this test only."""
    require_identity(True)
    return shop


def identity_token(shop: Shop) -> str:
    now = int(utcnow().timestamp())
    claims = {
        "sub": "cust-77",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "",
        "iat": now,
        "exp": now + 3600,
    }
    return jwt.encode(claims, shop.widget_secret, algorithm="HS256")


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"widget-{name}.png"), animations="disabled")


def chats_of(server, external_id: str) -> list[dict]:
    with server.app.app_context():
        rows = [c.visitor for c in db.session.query(Chat).all()]
        db.session.remove()
    return [v for v in rows if (v or {}).get("id") == external_id]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_unsigned_visitor_is_asked_to_sign_in_on_the_website(
    browser_page, strict_shop, host_site, widget_app_server, viewport
):
    page = browser_page
    page.goto(host_site.publish("/strict-unsigned", host_page(strict_shop, CUSTOMER)))
    launcher(page).click()
    chat = page.frame_locator('iframe[title="Chat with us"]')

    asked = chat.locator("[data-sign-in-required]")
    expect(asked).to_contain_text("Please sign in on acme.example to chat with us.")
    link = asked.get_by_role("link", name="Sign in")
    expect(link).to_have_attribute("href", SIGN_IN_URL)
    expect(link).to_have_attribute("target", "_top")
    expect(link).to_be_focused()  # opened by a click: the keyboard is where the action is
    expect(chat.get_by_label("Message", exact=True)).to_have_count(0)
    expect(chat.locator("#messages")).to_have_count(0)
    shoot(page, f"sign-in-required-{'phone' if viewport is PHONE else 'desktop'}")
    assert chats_of(widget_app_server, "cust-42") == []
    # No session kept: a later signed-in visit starts a chat of its own.
    kept = page.evaluate(f"localStorage.getItem('followup-widget:{strict_shop.public_key}')")
    assert kept is None


def test_a_visitor_signed_in_by_token_chats_with_their_details(
    browser_page, strict_shop, host_site, widget_app_server
):
    page = browser_page
    customer = {"token": identity_token(strict_shop)}
    chat = open_widget(page, host_site.publish("/strict-token", host_page(strict_shop, customer)))
    chat.get_by_role("button", name="Contact us").click()
    panel = chat.get_by_role("region", name="Contact us")
    expect(panel.get_by_label("Name")).to_have_value("Ada Lovelace")
    expect(panel.get_by_label("Email")).to_have_value("ada@example.com")
    shoot(page, "signed-in-by-token")

    [visitor] = chats_of(widget_app_server, "cust-77")
    assert visitor["verified"] is True and visitor["name"] == "Ada Lovelace"
    kept = page.evaluate(
        f"JSON.parse(localStorage.getItem('followup-widget:{strict_shop.public_key}'))"
    )
    assert kept["customerId"] == "cust-77"  # the token's sub keys the chat on this browser


def test_a_chat_begun_unsigned_asks_to_sign_in_once_the_rule_is_on(
    browser_page, shop, host_site, require_identity
):
    page = browser_page
    url = host_site.publish("/before-the-rule", host_page(shop, CUSTOMER))
    open_widget(page, url)
    require_identity(True)

    page.goto(url)  # the kept session is restored, and refused
    launcher(page).click()
    chat = page.frame_locator('iframe[title="Chat with us"]')
    expect(chat.locator("[data-sign-in-required]")).to_contain_text("Please sign in on")
    expect(chat.locator("#messages")).to_have_count(0)
    kept = page.evaluate(f"localStorage.getItem('followup-widget:{shop.public_key}')")
    assert kept == "null" or kept is None
