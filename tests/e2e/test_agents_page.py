"""The AI Employees pages in real Chromium: creating and deleting an employee.

A create or a delete sends the browser to another page. The browser must really be
there afterwards (its URL, title and navigation), with a history that Back and
Forward walk as expected, whatever the page is swapped with HTMX or not.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from followup.extensions import db
from followup.models import Tenant
from followup.services import agents
from tests.helpers.browser import LiveServer, screenshot, staff_login

pytestmark = pytest.mark.e2e

# Every admin page's title starts with the count of pending requests: the seed's three.
PENDING = "(3) "


def hire_alex(live_server: LiveServer) -> None:
    """An employee already there: it answers the website chat, so it stays."""
    with live_server.app.app_context():
        tenant_id = db.session.query(Tenant.id).filter_by(slug="acme").scalar()
        agents.create_agent(tenant_id, {"name": "Alex", "role": "Support", "tone": "Friendly"})
        db.session.remove()


def listed(page: Page):
    return page.locator("#agent-list .agent-row .row-link")


def main_nav_current(page: Page):
    return page.get_by_role("navigation", name="Main").locator('[aria-current="page"]')


def create(page: Page, name: str) -> None:
    if page.locator("#new-agent[open]").count() == 0:
        page.locator("#new-agent summary").click()
    form = page.locator("#new-agent form")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Role").fill("Sales consultant")
    form.get_by_label("Tone").fill("Warm and brief")
    form.get_by_role("button", name="Create employee").click()


def test_a_new_employee_opens_on_its_own_page_and_back_lists_it(page: Page, live_server, seeded):
    hire_alex(live_server)
    staff_login(page, "/admin/agents")
    expect(listed(page)).to_have_text(["Alex"])

    # A refused create stays on the list, the form open with its errors.
    page.locator("#new-agent summary").click()
    page.locator("#new-agent form").get_by_role("button", name="Create employee").click()
    expect(page.locator("#new-agent .alert-error")).to_contain_text("Nothing was saved")
    expect(page).to_have_url(re.compile(r"/admin/agents$"))

    create(page, "Nova")
    expect(page).to_have_url(re.compile(r"/admin/agents/\d+$"))
    nova_id = int(page.url.rsplit("/", 1)[1])
    expect(page).to_have_title(f"{PENDING}Nova · Persona · Followup")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nova")
    expect(page.locator('.tab[aria-current="page"]')).to_have_text("Persona")
    expect(main_nav_current(page)).to_have_text("AI Employees")
    expect(page.locator("#new-agent, #agent-list")).to_have_count(0)  # not the list page
    expect(page.get_by_label("Name")).to_have_value("Nova")
    screenshot(page, "agent-created")

    page.go_back(wait_until="commit")  # a page kept in the back/forward cache never "loads"
    expect(page).to_have_url(re.compile(r"/admin/agents$"))
    expect(page).to_have_title(f"{PENDING}AI Employees · Followup")
    expect(listed(page)).to_have_text(["Alex", "Nova"])
    screenshot(page, "agent-created-back-to-list")

    page.go_forward(wait_until="commit")
    expect(page).to_have_url(re.compile(rf"/admin/agents/{nova_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Nova")


def test_a_deleted_employee_leaves_for_the_list_and_a_refusal_stays(
    page: Page, live_server, seeded
):
    hire_alex(live_server)
    staff_login(page, "/admin/agents")
    create(page, "Nova")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nova")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".danger-zone summary").click()
    page.get_by_role("button", name="Delete Nova").click()
    expect(page).to_have_url(re.compile(r"/admin/agents$"))
    expect(page).to_have_title(f"{PENDING}AI Employees · Followup")
    expect(listed(page)).to_have_text(["Alex"])
    expect(main_nav_current(page)).to_have_text("AI Employees")
    screenshot(page, "agent-deleted")

    # Alex answers the website chat: the delete is refused, and the page stays.
    listed(page).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alex")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".danger-zone summary").click()
    page.get_by_role("button", name="Delete Alex").click()
    expect(page.locator("#alerts [role=alert]")).to_contain_text("answers the website chat")
    expect(page).to_have_url(re.compile(r"/admin/agents/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Alex")
