"""The widget in the visitor's language and the business's look at once, in real
Chromium, embedded in a website: German and Russian, each in the default blue look and
in a green look with the launcher on the left and the business's own greeting, on a
desktop and a phone. The translated texts must fit the header, the composer and the
buttons in every look; the screenshots are for people to look at."""

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

from followup.extensions import db
from followup.models import Tenant
from followup.services import widget_look
from tests.helpers.browser import LiveServer, screenshot
from tests.helpers.embedded_widget import Shop, host_page, launcher

pytestmark = pytest.mark.e2e

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
DEFAULT_BLUE = "rgb(52, 81, 209)"  # #3451d1
GREEN = "#1f7a4d"
GREEN_RGB = "rgb(31, 122, 77)"
BOXED_TEXTS = (
    ".widget-header h1, #presence, .chat-actions button, .composer textarea, .composer button"
)


# Per language: what the widget says in it, and the greeting a business writing in it set.
LANGUAGES = {
    "de": {
        "placeholder": "Nachricht schreiben …",
        "contact": "Kontakt",
        "greeting": "Hallo! Ich bin Alex von Acme Inc. Wie kann ich Ihnen heute helfen?",
        "own_greeting": "Willkommen bei Acme! Fragen Sie uns alles zu Ihrer Bestellung.",
    },
    "ru": {
        "placeholder": "Напишите сообщение…",
        "contact": "Связаться с нами",  # noqa: RUF001
        "greeting": "Здравствуйте! Я Alex из Acme Inc. Чем могу помочь?",
        "own_greeting": "Добро пожаловать в Acme! Спросите нас о вашем заказе.",  # noqa: RUF001
    },
}


def wear_green_look(server: LiveServer, greeting: str) -> None:
    with server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        look = {"accent": GREEN, "position": "left", "agent_name": "Alex", "greeting": greeting}
        widget_look.update_look(tenant.id, look)
        db.session.commit()
        db.session.remove()


def open_widget(chromium: Browser, shop: Shop, host_site, language: str, size: str):
    context = chromium.new_context(locale="en-US", viewport=SIZES[size])
    context.set_default_timeout(10_000)
    page = context.new_page()
    # The host page asks for the language (FollowupWidget.locale): the browser's is English.
    page.goto(host_site.publish(f"/{language}-{size}", host_page(shop, None, language)))
    launcher(page).click()
    chat = page.frame_locator("iframe")
    expect(chat.locator("#messages .msg-agent").first).to_be_visible()
    return page, chat


def assert_fits(chat: FrameLocator) -> None:
    """No translated text runs out of its box: the header's lines, the buttons' labels."""
    shown, overflowing = chat.locator(BOXED_TEXTS).evaluate_all(
        """boxes => {
            const shown = boxes.filter(el => el.offsetParent !== null);
            return [shown.length, shown
              .filter(el => el.scrollWidth > el.clientWidth + 1)
              .map(el => el.id || el.className || el.tagName)];
        }"""
    )
    assert shown >= 5  # the name, the presence line, two buttons, the composer's
    assert overflowing == []


def shoot(page: Page, name: str) -> None:
    screenshot(page, f"i18n-look-{name}", full_page=False)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("look", ["default", "green"])
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_widget_speaks_the_language_in_the_businesss_look(
    chromium, shop, host_site, widget_app_server, language, look, size
):
    words = LANGUAGES[language]
    if look == "green":
        wear_green_look(widget_app_server, words["own_greeting"])
    page, chat = open_widget(chromium, shop, host_site, language, size)

    expect(chat.locator("html")).to_have_attribute("lang", language)
    expect(chat.get_by_placeholder(words["placeholder"])).to_be_visible()
    expect(chat.get_by_role("button", name=words["contact"])).to_be_visible()
    greeting = words["own_greeting"] if look == "green" else words["greeting"]
    expect(chat.locator("#messages .msg-agent .bubble-text")).to_have_text([greeting])
    accent = GREEN_RGB if look == "green" else DEFAULT_BLUE
    expect(chat.locator(".widget-header")).to_have_css("background-color", accent)
    expect(launcher(page)).to_have_css("background-color", accent)
    if size == "desktop":
        # The launcher, and the chat above it, on the side the look puts them.
        frame = page.locator("iframe").bounding_box()
        on_the_left = frame["x"] + frame["width"] / 2 < SIZES[size]["width"] / 2
        assert on_the_left == (look == "green")
    assert_fits(chat)
    shoot(page, f"{language}-{look}-{size}")
    page.context.close()
