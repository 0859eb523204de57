"""The Settings and Users pages in real Chromium, at desktop and at phone size.

One flow per viewport: copy the widget snippet with its Copy button (the real
clipboard), reveal and rotate the widget secret through the confirmation dialog,
then search the customers on the Users page and open one's chat transcript, all
without reloading the page.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from followup.extensions import db
from followup.models import Chat, Customer, Tenant
from followup.services import chats
from tests.helpers.browser import staff_login

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]
ALL_CUSTOMERS = ["Katherine Johnson", "Alan Turing", "Grace Hopper", "Ada Lovelace"]


def tenant_row(live_server) -> Tenant:
    with live_server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        db.session.expunge(tenant)
        db.session.remove()
    return tenant


def give_ada_a_chat(live_server) -> None:
    with live_server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        chat = chats.start_chat(tenant.widget_public_key).chat
        ada = db.session.query(Customer).filter_by(email="ada@example.com").one()
        chat.customer_id, chat.title = ada.id, "Invoice question"
        db.session.commit()
        chats.post_client_message(db.session.get(Chat, chat.id), "Where is my invoice?")
        db.session.remove()


def mark_page(page: Page) -> None:
    page.evaluate("window.__noReload = true")


def expect_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"


def card_names(page: Page):
    return page.locator("#user-list .user-card .card-name")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_copy_snippet_rotate_secret_and_search_users(
    page: Page, live_server, seeded, viewport, artifacts_dir
):
    size = "phone" if viewport["width"] <= 900 else "desktop"
    give_ada_a_chat(live_server)
    before = tenant_row(live_server)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    # Settings: the Copy button puts the exact snippet, with the real key, on the clipboard.
    staff_login(page, "/admin/settings")
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings")
    ).to_have_attribute("aria-current", "page")
    mark_page(page)
    copy = page.get_by_role("button", name="Copy snippet")
    copy.focus()
    page.keyboard.press("Enter")  # keyboard works as well as a click
    expect(copy).to_have_text("Copied")
    expect(page.locator("#copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == (
        f'<script src="{live_server.app.config["PUBLIC_BASE_URL"]}/widget.js" '
        f'data-key="{before.widget_public_key}" async></script>'
    )

    # The secret is masked until revealed.
    secret = page.locator("#widget-secret-value")
    expect(secret).to_be_hidden()
    page.locator(".secret-reveal summary").click()
    expect(secret).to_have_text(before.widget_secret)

    # Rotating asks first; dismissing changes nothing, accepting swaps in the new secret.
    rotate = page.get_by_role("button", name="Rotate widget secret")
    page.once("dialog", lambda dialog: dialog.dismiss())
    rotate.click()
    assert tenant_row(live_server).widget_secret == before.widget_secret
    page.once("dialog", lambda dialog: dialog.accept())
    rotate.click()
    expect(page.get_by_text("New widget secret created.")).to_be_visible()
    rotated = tenant_row(live_server).widget_secret
    assert rotated != before.widget_secret
    expect(secret).to_have_text(rotated)  # shown at once, ready to copy
    expect_not_reloaded(page)
    page.screenshot(path=artifacts_dir / f"settings-{size}.png", full_page=True)

    # A bad origin is refused in place, with the reason under the field.
    page.fill("#allowed_origins", "https://shop.example.com/checkout")
    page.get_by_role("button", name="Save origins").click()
    expect(page.locator("#origins-error")).to_contain_text("no path")
    expect(page.locator("#allowed_origins")).to_have_attribute("aria-invalid", "true")
    page.fill("#allowed_origins", "HTTPS://Shop.Example.com/")
    page.get_by_role("button", name="Save origins").click()
    expect(page.locator("#origins-settings .saved")).to_contain_text("https://shop.example.com")
    expect_not_reloaded(page)

    # Users: search as you type, open a customer and their chat transcript.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    expect(card_names(page)).to_have_text(ALL_CUSTOMERS)
    mark_page(page)
    page.fill("#user-search", "GRACE@")
    expect(card_names(page)).to_have_text(["Grace Hopper"])
    expect(page).to_have_url(re.compile(r"[?&]q=GRACE%40"))
    page.fill("#user-search", "")
    expect(card_names(page)).to_have_text(ALL_CUSTOMERS)
    page.fill("#user-search", "lovelace")
    expect(card_names(page)).to_have_text(["Ada Lovelace"])

    page.locator(".user-card .card-link", has_text="Ada Lovelace").click()
    heading = page.locator("#user-detail-name")
    expect(heading).to_have_text("Ada Lovelace")
    expect(heading).to_be_focused()
    expect(page.locator("#user-detail")).to_contain_text("Follow-up requests (1)")
    page.get_by_role("link", name="Show transcript").click()
    expect(page.locator("#transcript-title")).to_be_focused()
    expect(page.locator(".transcript")).to_contain_text("Where is my invoice?")
    expect(page).to_have_url(re.compile(r"/admin/users/\d+\?chat=\d+"))
    expect_not_reloaded(page)

    panel = page.locator("#user-detail-panel").bounding_box()
    results = page.locator("#user-list").bounding_box()
    if size == "desktop":
        assert panel["x"] >= results["x"] + results["width"]  # side by side
    else:
        assert panel["y"] + panel["height"] <= results["y"]  # the open customer comes first
        assert panel["x"] >= 0 and panel["x"] + panel["width"] <= viewport["width"]
    page.screenshot(path=artifacts_dir / f"users-{size}.png", full_page=True)
