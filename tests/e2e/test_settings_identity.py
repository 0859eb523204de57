"""Settings → Website widget → Verified identity in real Chromium: the switch, the
sign-in page refused in place with the reason under it, then saved without a reload."""

import pytest
from playwright.sync_api import Page, expect

from followup.extensions import db
from followup.models import Tenant
from tests.helpers.browser import staff_login

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def viewport() -> dict:
    return DESKTOP


def stored(live_server) -> Tenant:
    with live_server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        db.session.expunge(tenant)
        db.session.remove()
    return tenant


def test_require_verified_identity_with_a_sign_in_page(
    page: Page, live_server, seeded, artifacts_dir
):
    staff_login(page, "/admin/settings")
    page.evaluate("window.__noReload = true")
    section = page.locator("#identity-settings")
    section.get_by_role("switch", name="Require verified identity").check()
    page.fill("#sign_in_url", "http://shop.example.com/login")
    section.get_by_role("button", name="Save identity settings").click()
    expect(page.locator("#sign_in_url-error")).to_have_text(
        "Sign-in page: use a full https:// address, such as https://www.example.com/login."
    )
    expect(page.locator("#sign_in_url")).to_have_attribute("aria-invalid", "true")
    section.screenshot(path=artifacts_dir / "settings-identity-error.png")
    assert stored(live_server).require_verified_identity is False

    page.fill("#sign_in_url", "https://shop.example.com/login")
    section.get_by_role("button", name="Save identity settings").click()
    expect(section.locator(".saved")).to_have_text("Saved: only signed-in visitors can chat.")
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"
    saved = stored(live_server)
    assert saved.require_verified_identity and saved.sign_in_url == "https://shop.example.com/login"
    section.screenshot(path=artifacts_dir / "settings-identity-saved.png")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate widget secret").click()
    expect(page.locator("#previous-secret-note")).to_contain_text(
        "The previous secret still verifies until"
    )
    page.locator("#widget-secret").screenshot(path=artifacts_dir / "settings-secret-grace.png")
