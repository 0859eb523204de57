"""Settings → Website widget → Look in real Chromium: the preview beside the form follows
the fields as they change (computed styles inside its frame), a too-light accent is
refused in place, and once saved the real widget page shows the look."""

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from followup.extensions import db
from followup.models import Tenant
from followup.services import widget_look
from tests.helpers.accessibility import assert_accessible
from tests.helpers.browser import staff_login
from tests.helpers.pictures import png

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
DEFAULT_BLUE = "rgb(52, 81, 209)"  # #3451d1
GREEN = "rgb(11, 110, 79)"  # #0b6e4f
GREETING = "Welcome to Acme! Ask me anything about your order."
OFFLINE = "We're away right now: leave a message and we'll answer by 9 am."


@pytest.fixture
def viewport() -> dict:
    return DESKTOP


def public_key(live_server) -> str:
    with live_server.app.app_context():
        key = db.session.query(Tenant).filter_by(slug="acme").one().widget_public_key
        db.session.remove()
    return key


def header_background(frame: FrameLocator):
    return frame.locator(".widget-header")


def test_the_preview_follows_the_form_and_the_widget_shows_the_saved_look(
    page: Page, live_server, seeded, artifacts_dir
):
    key = public_key(live_server)
    # The widget in its default look, for comparison.
    page.goto(f"/w/{key}")
    expect(page.locator(".msg-agent .bubble-text").first).to_contain_text("How can I help you")
    expect(page.locator(".widget-header")).to_have_css("background-color", DEFAULT_BLUE)
    page.screenshot(path=artifacts_dir / "look-widget-default-desktop.png")
    page.set_viewport_size(PHONE)
    page.screenshot(path=artifacts_dir / "look-widget-default-phone.png")
    page.set_viewport_size(DESKTOP)

    staff_login(page, "/admin/settings")
    section = page.locator("#look-settings")
    preview = page.frame_locator("#look-preview-frame")
    expect(header_background(preview)).to_have_css("background-color", DEFAULT_BLUE)

    page.fill("#accent", "#0b6e4f")
    expect(header_background(preview)).to_have_css("background-color", GREEN)
    page.fill("#agent_name", "Robin")
    expect(preview.locator(".msg-agent .bubble-text")).to_contain_text("Hi! I'm Robin from")
    page.fill("#greeting", GREETING)
    page.set_input_files(
        "#avatar",
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": png((200, 60, 20), 64)}],
    )
    page.get_by_label("Bottom left").check()
    expect(preview.locator(".msg-agent .bubble-text")).to_have_text(GREETING)
    # No model on this server: the header says how the team answers, until there is an
    # offline message.
    expect(preview.locator("#presence")).to_contain_text("Leave your details")
    expect(preview.locator("img.avatar-picture")).to_be_visible()
    assert preview.locator("img.avatar-picture").evaluate("img => img.naturalWidth") == 64
    expect(page.locator(".look-stage")).to_have_class("look-stage look-stage-left")
    page.fill("#offline_message", OFFLINE)
    expect(preview.locator("#presence")).to_have_text(OFFLINE)
    page.screenshot(path=artifacts_dir / "look-settings-desktop.png", full_page=False)
    section.screenshot(path=artifacts_dir / "look-settings-section-desktop.png")

    # Too light for white text: the preview keeps the last saved look and says why.
    page.fill("#accent", "#ffff00")
    expect(page.locator("#look-preview-body .alert-error")).to_contain_text(
        "Accent colour: this colour is too light for white text on it (contrast 1.0:1; "
        "needs 4.5:1). Pick a darker shade."
    )
    expect(header_background(preview)).to_have_css("background-color", DEFAULT_BLUE)
    section.get_by_role("button", name="Save look").click()
    expect(page.locator("#accent-error")).to_contain_text("this colour is too light")

    page.fill("#accent", "#0b6e4f")
    page.set_input_files(
        "#avatar",
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": png((200, 60, 20), 64)}],
    )
    page.locator("#look-settings").get_by_role("button", name="Save look").click()
    expect(page.locator("#look-settings .saved")).to_have_text(
        "Look saved: the widget on your website shows it now."
    )
    expect(header_background(page.frame_locator("#look-preview-frame"))).to_have_css(
        "background-color", GREEN
    )

    page.set_viewport_size(PHONE)
    page.locator("#look-settings").scroll_into_view_if_needed()
    page.screenshot(path=artifacts_dir / "look-settings-phone.png", full_page=False)
    page.locator("#look-preview").screenshot(path=artifacts_dir / "look-preview-phone.png")

    # The real widget page, as a new visitor gets it (the greeting opens new chats; the
    # chat this browser started above keeps its own).
    page.goto(f"/w/{key}")
    page.evaluate("localStorage.clear()")
    page.reload()
    expect(page.locator(".widget-header")).to_have_css("background-color", GREEN)
    expect(page.locator(".msg-agent .bubble-text").first).to_have_text(GREETING)
    expect(page.locator("img.avatar-picture")).to_be_visible()
    assert page.locator("img.avatar-picture").evaluate("img => img.naturalWidth") == 64
    # No model on this server: nobody answers at once, so the offline message.
    expect(page.locator("#presence")).to_have_text(OFFLINE)
    expect(page.locator(".send-button")).to_have_css("background-color", "rgb(195, 201, 214)")
    page.fill("#message-input", "Hello")
    expect(page.locator(".send-button")).to_have_css("background-color", GREEN)
    page.screenshot(path=artifacts_dir / "look-widget-green-phone.png")
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=artifacts_dir / "look-widget-green-desktop.png")


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_widget_in_the_business_look_and_the_look_form_pass_axe(
    page: Page, live_server, seeded, size
):
    with live_server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        # The lightest grey white text passes on: the contrast rule's very edge.
        look = {
            "accent": "#767676",
            "position": "left",
            "agent_name": "Robin",
            "greeting": GREETING,
            "offline_message": OFFLINE,
        }
        widget_look.update_look(tenant.id, look, png((200, 60, 20), 64))
        key = tenant.widget_public_key
        db.session.remove()
    page.set_viewport_size(size)
    page.goto(f"/w/{key}")
    expect(page.locator(".msg-agent .bubble-text").first).to_have_text(GREETING)
    expect(page.locator(".widget-header")).to_have_css("background-color", "rgb(118, 118, 118)")
    assert_accessible(page, "the widget in the business's look")
    staff_login(page, "/admin/settings")
    expect(page.frame_locator("#look-preview-frame").locator(".widget-header")).to_be_visible()
    # This section only: the sidebar has target-size findings of its own (not the Look's).
    assert_accessible(page, "the Look form and its preview", within="#look-settings")
