"""Every admin form that sends the browser on after a save, in Chromium without
JavaScript: the plain form post gets a 303 to the page that shows the result, and Back
returns to the page the form was on. (With JavaScript the same posts are HTMX swaps,
or a full load through HX-Redirect: tests/e2e/test_agents_page.py.)"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from followup.extensions import db
from followup.models import Chat, Tenant
from followup.services import agents, chats
from tests.helpers.browser import LiveServer, staff_login

pytestmark = pytest.mark.e2e

# Every admin page's title starts with the count of pending requests: the seed's three.
PENDING = "(3) "


@dataclass
class Seeded:
    alex: int  # answers the website chat
    sam: int  # may be deleted
    chat: int
    grace: int


@pytest.fixture
def data(live_server: LiveServer, seeded) -> Seeded:
    with live_server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        persona = {"role": "Support", "tone": "Friendly"}
        alex = agents.create_agent(tenant.id, {"name": "Alex"} | persona).id
        sam = agents.create_agent(tenant.id, {"name": "Sam"} | persona).id
        chat = chats.start_chat(tenant.widget_public_key).chat
        chats.post_client_message(db.session.get(Chat, chat.id), "Is the oak table in stock?")
        data = Seeded(alex, sam, chat.id, seeded["Grace Hopper"])
        db.session.remove()
    return data


@pytest.fixture
def plain_page(chromium, live_server) -> Iterator[Page]:
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@dataclass
class Post:
    start: Callable[[Seeded], str]
    submit: Callable[[Page], None]
    lands_on: Callable[[Seeded], str]  # a regex of the URL path and query
    shows: Callable[[Page], None]


def click(name: str) -> Callable[[Page], None]:
    return lambda page: page.get_by_role("button", name=name, exact=True).click()


def create_nova(page: Page) -> None:
    page.locator("#new-agent summary").click()
    page.get_by_label("Name").fill("Nova")
    page.get_by_label("Role").fill("Sales consultant")
    page.get_by_label("Tone").fill("Warm and brief")
    click("Create employee")(page)


def delete_sam(page: Page) -> None:
    page.locator(".danger-zone summary").click()
    click("Delete Sam")(page)


def reply(page: Page) -> None:
    page.get_by_label("Reply as staff").fill("Yes, two left.")
    click("Send reply")(page)


def pause(page: Page) -> None:
    page.get_by_role("switch", name="Pause auto follow-up").check()
    click("Save")(page)


def enable_chain(page: Page) -> None:
    page.get_by_role("switch", name="Enable Auto Follow-up").check()
    click("Save")(page)


def contacted(page: Page) -> None:
    page.select_option("#status-select", "contacted")
    click("Update status")(page)


def add_note(page: Page) -> None:
    page.fill("#note-text", "Called back.")
    click("Add note")(page)


def heading(text: str) -> Callable[[Page], None]:
    return lambda page: expect(page.get_by_role("heading", level=1)).to_have_text(text)


POSTS = {
    "create employee": Post(
        lambda d: "/admin/agents",
        create_nova,
        lambda d: r"/admin/agents/\d+",
        heading("Nova"),
    ),
    "save persona": Post(
        lambda d: f"/admin/agents/{d.alex}",
        click("Save persona"),
        lambda d: f"/admin/agents/{d.alex}",
        heading("Alex"),
    ),
    "save working hours": Post(
        lambda d: f"/admin/agents/{d.alex}/working-hours",
        click("Save working hours"),
        lambda d: f"/admin/agents/{d.alex}/working-hours",
        lambda page: expect(page).to_have_title(f"{PENDING}Alex · Working Hours · Followup"),
    ),
    "save channels": Post(
        lambda d: f"/admin/agents/{d.alex}/channels",
        click("Save channels"),
        lambda d: f"/admin/agents/{d.alex}/channels",
        lambda page: expect(page).to_have_title(f"{PENDING}Alex · Channels · Followup"),
    ),
    "enable auto follow-up": Post(
        lambda d: f"/admin/agents/{d.alex}/auto-followup",
        enable_chain,
        lambda d: f"/admin/agents/{d.alex}/auto-followup",
        lambda page: expect(
            page.get_by_role("switch", name="Enable Auto Follow-up")
        ).to_be_checked(),
    ),
    "delete employee": Post(
        lambda d: f"/admin/agents/{d.sam}",
        delete_sam,
        lambda d: "/admin/agents",
        lambda page: expect(page.locator(".agent-row .row-link")).to_have_text(["Alex"]),
    ),
    "staff reply": Post(
        lambda d: f"/admin/chats/{d.chat}",
        reply,
        lambda d: f"/admin/chats/{d.chat}",
        lambda page: expect(page.locator("#conversation")).to_contain_text("Yes, two left."),
    ),
    "pause a chat": Post(
        lambda d: f"/admin/chats/{d.chat}",
        pause,
        lambda d: f"/admin/chats/{d.chat}",
        lambda page: expect(
            page.get_by_role("switch", name="Pause auto follow-up")
        ).to_be_checked(),
    ),
    "change status": Post(
        lambda d: f"/admin/followups/{d.grace}",
        contacted,
        lambda d: f"/admin/followups/{d.grace}",
        lambda page: expect(page.locator(".detail-badges .status-pill")).to_have_text("Contacted"),
    ),
    "add a note": Post(
        lambda d: f"/admin/followups/{d.grace}",
        add_note,
        lambda d: f"/admin/followups/{d.grace}",
        lambda page: expect(page.locator("#timeline .entry-note .note-text")).to_have_text(
            "Called back."
        ),
    ),
    "follow-up settings": Post(
        lambda d: "/admin/followups/settings",
        click("Save Settings"),
        lambda d: "/admin/followups",
        heading("Follow-Up Requests"),
    ),
    "business settings": Post(
        lambda d: "/admin/settings",
        click("Save business details"),
        lambda d: "/admin/settings",
        heading("Settings"),
    ),
}


@pytest.mark.parametrize("post", POSTS.values(), ids=POSTS.keys())
def test_a_plain_form_post_lands_on_its_page_and_back_returns(plain_page: Page, data, post):
    page = plain_page
    staff_login(page, post.start(data))
    post.submit(page)
    expect(page).to_have_url(re.compile(rf"{post.lands_on(data)}$"))
    post.shows(page)
    page.go_back(wait_until="commit")
    expect(page).to_have_url(re.compile(rf"{re.escape(post.start(data))}$"))
