"""The widget in the visitor's language, in real Chromium: the host page's choice
(`?locale=` on the chat's address, as the snippet passes `FollowupWidget.locale`), else
the browser's language, else the business's default. Its texts come from the server,
the script's own ones as JSON data the page's CSP lets through (the console guard
fails the test on any CSP violation)."""

import json

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

from followup.extensions import db
from followup.models import Tenant
from tests.helpers.browser import LiveServer, screenshot
from tests.helpers.embedded_widget import DESKTOP, Shop, host_page, launcher

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}

GREETINGS = {
    "de": "Hallo! Ich bin Alex von Acme Inc. Wie kann ich Ihnen heute helfen?",
    "fr": "Bonjour ! Je suis Alex, de Acme Inc. Comment puis-je vous aider aujourd’hui ?",  # noqa: RUF001
    "ru": "Здравствуйте! Я Alex из Acme Inc. Чем могу помочь?",
}


def set_default_language(server: LiveServer, language: str) -> None:
    with server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        tenant.visitor_locale = language
        db.session.commit()
        db.session.remove()


def visit(chromium: Browser, locale: str, viewport: dict = DESKTOP) -> Page:
    """A browser whose language is `locale` (navigator.language and Accept-Language)."""
    context = chromium.new_context(locale=locale, viewport=viewport)
    context.set_default_timeout(10_000)
    return context.new_page()


def open_chat_page(page: Page, shop: Shop, query: str = "") -> Page:
    page.goto(f"{shop.app_url}/w/{shop.public_key}{query}")
    expect(page.locator("#messages .msg-agent").first).to_be_visible()
    return page


def open_embedded(page: Page, url: str) -> FrameLocator:
    page.goto(url)
    launcher(page).click()
    chat = page.frame_locator("iframe")
    expect(chat.locator("#messages .msg-agent").first).to_be_visible()
    return chat


def shoot(page: Page, name: str) -> None:
    screenshot(page, f"widget-{name}", full_page=False)


def test_the_host_pages_locale_wins_over_the_browsers(chromium, shop):
    page = open_chat_page(visit(chromium, "fr-FR"), shop, "?locale=de")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#messages .msg-agent .bubble-text")).to_have_text([GREETINGS["de"]])
    expect(page.get_by_role("button", name="Kontakt")).to_be_visible()
    expect(page.get_by_placeholder("Nachricht schreiben …")).to_be_visible()
    # The form, its labels and its errors: German too.
    page.get_by_role("button", name="Kontakt").click()
    panel = page.get_by_role("region", name="Kontakt")
    expect(panel.get_by_label("Name")).to_be_focused()  # the panel is in place
    panel.get_by_label("E-Mail").fill("not-an-address")
    panel.get_by_role("button", name="Anfrage senden").click()
    expect(panel.locator(".field-error").first).to_have_text("Name: bitte ausfüllen.")
    expect(
        panel.get_by_text("E-Mail: geben Sie eine Adresse wie name@example.com ein.")
    ).to_be_visible()


def test_the_browsers_language_chooses_when_the_page_names_none(chromium, shop, host_site):
    page = visit(chromium, "fr-FR")
    chat = open_embedded(page, host_site.publish("/fr", host_page(shop, None)))
    expect(chat.locator("#messages .msg-agent .bubble-text")).to_have_text([GREETINGS["fr"]])
    expect(chat.get_by_role("button", name="Nous contacter")).to_be_visible()
    expect(chat.get_by_role("button", name="Se connecter")).to_be_visible()
    # The script's own words (voice, connection problems) are French too: JSON data.
    texts = json.loads(chat.locator("#widget").get_attribute("data-texts"))
    assert texts["tryAgain"] == "Réessayer"


def test_the_business_default_serves_browsers_in_other_languages(
    chromium, shop, host_site, widget_app_server
):
    set_default_language(widget_app_server, "ru")
    page = visit(chromium, "ja-JP")
    chat = open_embedded(page, host_site.publish("/ru", host_page(shop, None)))
    expect(chat.locator("html")).to_have_attribute("lang", "ru")
    expect(chat.locator("#messages .msg-agent .bubble-text")).to_have_text([GREETINGS["ru"]])
    expect(chat.get_by_placeholder("Напишите сообщение…")).to_be_visible()


@pytest.mark.parametrize(
    ("locale", "viewport", "size"),
    [
        ("de-DE", DESKTOP, "desktop"),
        ("de-DE", PHONE, "phone"),
        ("ru-RU", DESKTOP, "desktop"),
        ("ru-RU", PHONE, "phone"),
    ],
)
def test_screenshots_in_two_languages(chromium, shop, host_site, locale, viewport, size):
    language = locale[:2]
    page = visit(chromium, locale, viewport)
    chat = open_embedded(page, host_site.publish(f"/shot-{language}", host_page(shop, None)))
    expect(chat.locator("html")).to_have_attribute("lang", language)
    shoot(page, f"{language}-{size}-chat")
    chat.locator("#contact-button").click()
    expect(chat.locator("#panel .followup-form")).to_be_visible()
    shoot(page, f"{language}-{size}-form")
