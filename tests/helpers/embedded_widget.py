"""The chat widget embedded in a tenant's website, in real Chromium: the website on
another origin than the app, its page with the snippet (and a signed customer), and
the chat opened and used as a visitor does."""

import json
from dataclasses import dataclass, field

from playwright.sync_api import FrameLocator, Page, expect

from followup.extensions import db
from followup.models import Tenant
from followup.services.prefill import identity_signature

DESKTOP = {"width": 1280, "height": 820}


CUSTOMER = {"id": "cust-42", "name": "Maria Garcia", "email": "maria@example.com"}


@dataclass
class HostSite:
    """A tenant's website: pages served on another origin than the app."""

    port: int
    pages: dict[str, str] = field(default_factory=dict)

    def url(self, path: str, host: str = "localhost") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.port}"

    def publish(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.url(path)


@dataclass
class Shop:
    """The seeded tenant and what its website needs to embed the widget."""

    public_key: str
    widget_secret: str
    app_url: str


def host_page(shop: Shop, customer: dict | None, locale: str | None = None) -> str:
    settings = {"customer": customer, "locale": locale}
    settings = {name: value for name, value in settings.items() if value is not None}
    config = ""
    if settings:
        config = f"<script>window.FollowupWidget = {json.dumps(settings)};</script>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Shop</title>
<style>
  body {{ margin: 0; font-family: Georgia, serif; background: #fbf7f0; color: #2d2a26; }}
  header {{ background: #2d2a26; color: #fbf7f0; padding: 18px 32px; font-size: 22px; }}
  main {{ padding: 32px; max-width: 720px; }}
  .product {{ display: flex; gap: 20px; margin-top: 24px; }}
  .product div {{ flex: 1; height: 140px; background: #e9dfcf; border-radius: 8px; }}
</style></head>
<body><header>Acme Shop</header>
<main><h1>Handmade furniture</h1>
<p>Oak tables, walnut chairs and custom orders. Ask us anything in the chat.</p>
<div class="product"><div></div><div></div><div></div></div></main>
{config}
<script src="{shop.app_url}/widget.js" data-key="{shop.public_key}" async></script>
</body></html>"""


def signed_customer(shop: Shop) -> dict:
    return CUSTOMER | {"signature": identity_signature(shop.widget_secret, CUSTOMER["id"])}


def launcher(page: Page):
    """The chat button, whatever the visitor's language names it (its label is checked
    in test_widget_loader.py); found even while the chat covers a phone's screen."""
    return page.locator("[data-followup-widget] button")


def chat_frame_loaded(page: Page) -> None:
    """Wait until the frame the launcher's focus made has loaded its page, as it has by the
    time a person presses a key. Chromium loses focus given to a cross-origin frame that
    is still loading, and only a key or click handler may give it: a faster key opens the
    chat without the focus in it."""
    expect(page.frame_locator("[data-followup-widget] iframe").locator("#chat")).to_be_attached()


def open_widget(page: Page, url: str) -> FrameLocator:
    """Open the chat with the keyboard; the message box gets the focus."""
    page.goto(url)
    launcher(page).focus()
    chat_frame_loaded(page)
    page.keyboard.press("Enter")
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    chat = page.frame_locator('iframe[title="Chat with us"]')
    expect(chat.locator("#messages .msg-agent").first).to_contain_text("How can I help you today?")
    expect(chat.get_by_label("Message", exact=True)).to_be_focused()
    return chat


def send(chat: FrameLocator, text: str) -> None:
    box = chat.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")


def last_agent_text(chat: FrameLocator):
    return chat.locator("#messages .msg-agent .bubble-text").last


def set_voice_mode(server, mode: str) -> None:
    """The shop's Settings → Voice, as its owner would choose it (`server`: a LiveServer)."""
    with server.app.app_context():
        db.session.query(Tenant).filter_by(slug="acme").one().voice_mode = mode
        db.session.commit()
        db.session.remove()
