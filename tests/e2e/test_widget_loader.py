"""The snippet's loader on a website, in real Chromium (issue 16, "Light"): only the
launcher until the visitor shows intent, nothing on the host origin, the locale and
the business's look passed on. The servers and the shop: tests/e2e/conftest.py."""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.helpers.embedded_widget import (
    DESKTOP,
    chat_frame_loaded,
    host_page,
    launcher,
    send,
    signed_customer,
)

pytestmark = pytest.mark.e2e

CHAT_FRAME = "[data-followup-widget] iframe"
# static/js/widget-chat.js's CUSTOMER_WAIT_MS, with room to spare.
CHAT_PAGE_WAITS_MS = 5_000
CONFIG_URL = re.compile(
    r"/api/widget/v1/[^/]+/config(\?|$)"
)  # CSS locators pierce the open shadow root
DEFAULT_BLUE = "rgb(52, 81, 209)"  # #3451d1


@pytest.fixture
def viewport() -> dict:
    return DESKTOP


def watch_requests(page: Page) -> list[Request]:
    requested = []
    page.on("request", lambda request: requested.append(request))
    return requested


def chat_requests(requested: list[Request], kind: str | None = None) -> list[str]:
    """What was asked of the chat (/w/…): everything, or only one kind ("document")."""
    return [
        request.url
        for request in requested
        if "/w/" in urlsplit(request.url).path and kind in (None, request.resource_type)
    ]


def chats_started(requested: list[Request]) -> int:
    return sum(
        request.method == "POST" and urlsplit(request.url).path.endswith("/chats")
        for request in requested
    )


def assert_usable(page: Page) -> None:
    chat = page.frame_locator(CHAT_FRAME)
    box = chat.get_by_label("Message", exact=True)
    expect(box).to_be_enabled()
    expect(box).to_be_focused()


def test_only_the_launcher_until_hover_then_the_click_opens_a_usable_chat(
    browser_page, shop, host_site
):
    page = browser_page
    requested = watch_requests(page)
    page.clock.install()  # the chat page's own wait for a snippet, fast-forwarded below
    page.goto(host_site.publish("/", host_page(shop, None)))
    expect(launcher(page)).to_be_visible()
    page.wait_for_load_state("networkidle")
    expect(page.locator(CHAT_FRAME)).to_have_count(0)
    assert chat_requests(requested) == []
    # Fixed in a corner: nothing in the document's flow moves.
    assert launcher(page).evaluate("b => getComputedStyle(b).position") == "fixed"

    launcher(page).hover()
    expect(page.locator(CHAT_FRAME)).to_have_count(1)
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")  # made, not opened
    expect(page.frame_locator(CHAT_FRAME).locator(".chat-loading")).to_be_attached()
    page.wait_for_load_state("networkidle")
    page.clock.run_for(CHAT_PAGE_WAITS_MS)  # past the wait of a frame no snippet talks to
    page.wait_for_load_state("networkidle")
    assert len(chat_requests(requested, "document")) == 1
    # Loaded, not started: a hover alone leaves no chat for the team to see.
    assert chats_started(requested) == 0

    page.clock.resume()
    launcher(page).click()
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    assert_usable(page)
    assert len(chat_requests(requested, "document")) == 1  # the hover's frame, not another
    assert chats_started(requested) == 1

    # Only our server and the website were asked for anything; no cookie on the website.
    origins = {f"{urlsplit(r.url).scheme}://{urlsplit(r.url).netloc}" for r in requested}
    assert origins <= {host_site.origin, shop.app_url}
    assert page.evaluate("document.cookie") == ""
    assert page.context.cookies(host_site.origin) == []


def test_keyboard_focus_alone_makes_the_chat(browser_page, shop, host_site):
    page = browser_page
    page.goto(host_site.publish("/", host_page(shop, None)))
    expect(launcher(page)).to_be_visible()
    expect(page.locator(CHAT_FRAME)).to_have_count(0)
    launcher(page).focus()
    expect(page.locator(CHAT_FRAME)).to_have_count(1)
    chat_frame_loaded(page)
    page.keyboard.press("Enter")
    assert_usable(page)
    page.keyboard.press("Escape")
    expect(launcher(page)).to_be_focused()


def test_the_website_locale_names_the_button_and_reaches_the_chat_address(
    browser_page, shop, host_site
):
    page = browser_page
    page.goto(host_site.publish("/de/", host_page(shop, None, locale="de-AT")))
    button = page.get_by_role("button", name="Chat öffnen")
    button.hover()
    expect(page.locator(CHAT_FRAME)).to_have_attribute("title", "Chatten Sie mit uns")
    src = page.locator(CHAT_FRAME).get_attribute("src")
    query = parse_qs(urlsplit(src).query)
    assert query["locale"] == ["de-AT"]
    assert query["page_url"] == [host_site.url("/de/")]
    button.click()
    expect(page.get_by_role("dialog", name="Chatten Sie mit uns")).to_be_visible()


def with_look(look: dict | None):
    """The real config answer with a look put in: values the settings would never save
    too, to show the loader's own checks (the saved look end to end:
    test_widget_language_look.py)."""

    def handle(route: Route) -> None:
        response = route.fetch()
        config = response.json() | ({"look": look} if look is not None else {})
        route.fulfill(response=response, body=json.dumps(config))

    return handle


@pytest.mark.parametrize(
    ("look", "colour", "side"),
    [
        ({"accent": "#0a7d32", "position": "left"}, "rgb(10, 125, 50)", "left"),
        ({"accent": "red; background: url(x)", "position": "middle"}, DEFAULT_BLUE, "right"),
        (None, DEFAULT_BLUE, "right"),
    ],
    ids=["green-left", "bad-values-ignored", "none"],
)
def test_the_business_look_colours_the_launcher_and_picks_the_side(
    browser_page, shop, host_site, look, colour, side
):
    page = browser_page
    page.route(CONFIG_URL, with_look(look))
    page.goto(host_site.publish("/", host_page(shop, None)))
    button = launcher(page)
    expect(button).to_be_visible()
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == colour

    button.click()
    assert_usable(page)
    frame_box = page.locator("[data-followup-widget] [role=dialog]").bounding_box()
    button_box = button.bounding_box()
    middle = DESKTOP["width"] / 2
    for box in (frame_box, button_box):
        centre = box["x"] + box["width"] / 2
        assert (centre < middle) == (side == "left"), box


def test_a_visitor_the_page_signs_in_after_load_chats_signed_in(browser_page, shop, host_site):
    """A single-page website sets `FollowupWidget.customer` once its visitor signs in, after
    the snippet loaded and the frame was made: the chat started on the first open knows
    them (their name is in the contact form)."""
    page = browser_page
    page.goto(host_site.publish("/spa", host_page(shop, None)))
    launcher(page).hover()
    chat_frame_loaded(page)
    page.evaluate(f"window.FollowupWidget = {{customer: {json.dumps(signed_customer(shop))}}}")
    launcher(page).click()
    chat = page.frame_locator(CHAT_FRAME)
    send(chat, "I want to speak to someone")
    form = chat.locator(".msg-agent .followup-card").last
    expect(form.get_by_label("Name")).to_have_value("Maria Garcia")
