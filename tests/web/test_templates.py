"""Which template answers: the page for a plain request, the partial for an HTMX swap.

A route that has both answers must never send the page into a swap (the page nested in
itself) nor the partial to a plain visit (an unstyled fragment). The HTML tests check
what is shown; these check which template showed it, route by route.
"""

import pytest

from followup.models import Status
from followup.services import followups
from tests.helpers.agents import make_agent, make_chat
from tests.helpers.templates import assert_rendered

# The Follow-Up Requests page renders its list first, then the page around it.
FOLLOWUPS_PAGE = ("admin/followups/_list.html", "admin/followups/page.html")
AGENT_PAGE = ("admin/agents/agent.html",)
AGENT_AREA = ("admin/agents/_agent.html",)


@pytest.fixture
def ids(tenant, make_followup) -> dict:
    """One of everything a URL names: a follow-up request (and its customer), an AI
    employee with a step, a chat of that employee, and an employee without steps."""
    followup = make_followup(tenant, name="Maria Garcia", email="maria@example.com")
    agent = make_agent(tenant, "Alex", steps=1, autofollowup_enabled=True)
    chat = make_chat(agent, "Oak table", customer_name="Anna Lee")
    return {
        "followup": followup.id,
        "customer": followup.customer_id,
        "agent": agent.id,
        "step": agent.steps[0].id,
        "chat": chat.id,
        "new_agent": make_agent(tenant, "Nina").id,  # no steps yet
    }


# --- pages that have a partial ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "page", "partial"),
    [
        ("/admin/followups", FOLLOWUPS_PAGE, ("admin/followups/_list.html",)),
        ("/admin/followups/{followup}", FOLLOWUPS_PAGE, ("admin/followups/_detail.html",)),
        ("/admin/followups/settings", FOLLOWUPS_PAGE, ("admin/followups/_settings.html",)),
        ("/admin/users", ("admin/users/page.html",), ("admin/users/_list.html",)),
        ("/admin/users/{customer}", ("admin/users/page.html",), ("admin/users/_detail.html",)),
        ("/admin/agents", ("admin/agents/page.html",), ("admin/agents/_list.html",)),
        ("/admin/agents/{agent}", AGENT_PAGE, AGENT_AREA),
        ("/admin/agents/{agent}?tab=channels", AGENT_PAGE, AGENT_AREA),
        ("/admin/agents/{agent}/working-hours", AGENT_PAGE, AGENT_AREA),
        ("/admin/agents/{agent}/channels", AGENT_PAGE, AGENT_AREA),
        ("/admin/agents/{agent}/auto-followup", AGENT_PAGE, AGENT_AREA),
        ("/admin/agents/{agent}/chats", AGENT_PAGE, AGENT_AREA),
        ("/admin/agents/{agent}/steps/new", AGENT_PAGE, ("admin/autofollowup/_step.html",)),
        (
            "/admin/auto-followup",
            ("admin/autofollowup/page.html",),
            ("admin/autofollowup/_table.html",),
        ),
        ("/admin/chats/{chat}", ("admin/chats/page.html",), ("admin/chats/_conversation.html",)),
        ("/admin/settings", ("admin/settings/page.html",), ("admin/settings/_sections.html",)),
    ],
)
def test_a_plain_request_gets_the_page_and_an_htmx_one_the_partial(
    app, staff_browser, ids, url, page, partial
):
    url = url.format(**ids)
    with assert_rendered(app, *page):
        response = staff_browser.get(url)
    assert response.status_code == 200
    with assert_rendered(app, *partial):
        response = staff_browser.get(url, htmx=True)
    assert response.status_code == 200


@pytest.mark.parametrize("header", ["HX-Boosted", "HX-History-Restore-Request"])
def test_a_boosted_or_history_restore_request_gets_the_page(app, staff_browser, ids, header):
    with assert_rendered(app, "admin/chats/page.html"):
        staff_browser.get(f"/admin/chats/{ids['chat']}", htmx=True, headers={header: "true"})


@pytest.mark.parametrize(
    ("url", "partial", "goes_to"),
    [
        ("/admin/followups/badge", "admin/followups/_badge.html", "/admin/followups"),
        ("/admin/followups/banner", "admin/followups/_banner.html", "/admin/followups"),
        (
            "/admin/followups/{followup}/notifications",
            "admin/followups/_notifications.html",
            "/admin/followups/{followup}",
        ),
        ("/admin/chats/{chat}/chain", "admin/chats/_chain.html", "/admin/chats/{chat}"),
    ],
)
def test_a_pane_that_lives_only_in_its_page_sends_a_plain_visit_there(
    app, staff_browser, ids, url, partial, goes_to
):
    url = url.format(**ids)
    with assert_rendered(app):
        response = staff_browser.get(url)
    assert response.status_code == 302
    assert response.headers["Location"] == goes_to.format(**ids)
    with assert_rendered(app, partial):
        response = staff_browser.get(url, htmx=True)
    assert response.status_code == 200


# --- changes: the refreshed partial for HTMX, the page again for a plain form post ------------

HOURS = {"timezone": "UTC", "mon": "", "mon-start": "09:00", "mon-end": "17:00"}
STEP = {"delay_hours": "2", "delay_minutes": "0", "instruction": "Check in"}


@pytest.mark.parametrize(
    ("url", "data", "partial", "goes_to"),
    [
        (
            "/admin/followups/{followup}/status",
            {"status": Status.CONTACTED},
            "admin/followups/_detail.html",
            "/admin/followups/{followup}",
        ),
        (
            "/admin/followups/{followup}/timeline/notes",
            {"text": "Called back"},
            "admin/followups/_detail.html",
            "/admin/followups/{followup}",
        ),
        (
            "/admin/followups/settings",
            {"enabled": "on", "response_time_hours": "12"},
            "admin/followups/_settings.html",
            "/admin/followups",
        ),
        (
            "/admin/settings/business",
            {"name": "Acme Two", "timezone": "UTC"},
            "admin/settings/_business.html",
            "/admin/settings",
        ),
        (
            "/admin/settings/origins",
            {"allowed_origins": "https://shop.example"},
            "admin/settings/_origins.html",
            "/admin/settings",
        ),
        (
            "/admin/settings/widget-secret",
            {},
            "admin/settings/_secret.html",
            "/admin/settings",
        ),
        (
            "/admin/settings/identity",
            {"require_verified_identity": "on", "sign_in_url": "https://shop.example/login"},
            "admin/settings/_identity.html",
            "/admin/settings",
        ),
        (
            "/admin/agents/{agent}/persona",
            {"name": "Alexa", "role": "Support", "tone": "Friendly"},
            "admin/agents/_agent.html",
            "/admin/agents/{agent}",
        ),
        (
            "/admin/agents/{agent}/working-hours",
            HOURS,
            "admin/agents/_working_hours.html",
            "/admin/agents/{agent}/working-hours",
        ),
        (
            "/admin/agents/{agent}/channels",
            {"serves_web_widget": "on", "sms_number": ""},
            "admin/agents/_channels.html",
            "/admin/agents/{agent}/channels",
        ),
        (
            "/admin/agents/{agent}/auto-followup",
            {"enabled": "on"},
            "admin/autofollowup/_toggle.html",
            "/admin/agents/{agent}/auto-followup",
        ),
        (
            "/admin/agents/{agent}/steps",
            STEP,
            "admin/autofollowup/_steps.html",
            "/admin/agents/{agent}/auto-followup",
        ),
        (
            "/admin/agents/{agent}/steps/{step}",
            STEP,
            "admin/autofollowup/_step.html",
            "/admin/agents/{agent}/auto-followup",
        ),
        (
            "/admin/agents/{agent}/steps/{step}/move",
            {"direction": "down"},
            "admin/autofollowup/_steps.html",
            "/admin/agents/{agent}/auto-followup",
        ),
        (
            "/admin/agents/{agent}/steps/{step}/delete",
            {},
            "admin/autofollowup/_steps.html",
            "/admin/agents/{agent}/auto-followup",
        ),
        (
            "/admin/agents/{new_agent}/steps/example",
            {},
            "admin/autofollowup/_steps.html",
            "/admin/agents/{new_agent}/auto-followup",
        ),
        (
            "/admin/chats/{chat}/reply",
            {"text": "We have it in stock."},
            "admin/chats/_reply.html",
            "/admin/chats/{chat}",
        ),
        (
            "/admin/chats/{chat}/pause",
            {"paused": "on"},
            "admin/chats/_chain.html",
            "/admin/chats/{chat}",
        ),
    ],
)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_change_answers_htmx_with_its_partial_and_a_form_post_with_a_redirect(
    app, staff_browser, ids, url, data, partial, goes_to, htmx
):
    url = url.format(**ids)
    with assert_rendered(app, *([partial] if htmx else [])):
        response = staff_browser.post(url, data=data, htmx=htmx)
    if htmx:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 303, response.text
        assert response.headers["Location"] == goes_to.format(**ids)


@pytest.mark.parametrize(
    ("url", "data", "page", "partial"),
    [
        (
            "/admin/followups/settings",
            {"enabled": "on", "response_time_hours": "0"},
            FOLLOWUPS_PAGE,
            ("admin/followups/_settings.html",),
        ),
        (
            "/admin/settings/business",
            {"name": "", "timezone": "UTC"},
            ("admin/settings/page.html",),
            ("admin/settings/_business.html",),
        ),
        (
            "/admin/settings/identity",
            {"require_verified_identity": "on", "sign_in_url": ""},
            ("admin/settings/page.html",),
            ("admin/settings/_identity.html",),
        ),
        (
            "/admin/agents",
            {"name": "", "role": "Support", "tone": "Friendly"},
            ("admin/agents/page.html",),
            ("admin/agents/_new.html",),
        ),
        (
            "/admin/agents/{agent}/persona",
            {"name": "", "role": "Support", "tone": "Friendly"},
            AGENT_PAGE,
            AGENT_AREA,
        ),
        (
            "/admin/agents/{agent}/working-hours",
            HOURS | {"mon-end": "08:00"},
            AGENT_PAGE,
            ("admin/agents/_working_hours.html",),
        ),
        (
            "/admin/agents/{agent}/steps",
            STEP | {"instruction": ""},
            AGENT_PAGE,
            ("admin/autofollowup/_step.html",),
        ),
        (
            "/admin/agents/{agent}/steps/{step}",
            STEP | {"instruction": ""},
            AGENT_PAGE,
            ("admin/autofollowup/_step.html",),
        ),
        (
            "/admin/agents/{agent}/steps/example",  # the chain is not empty
            {},
            AGENT_PAGE,
            ("admin/autofollowup/_steps.html",),
        ),
        (
            "/admin/chats/{chat}/reply",
            {"text": ""},
            ("admin/chats/page.html",),
            ("admin/chats/_reply.html",),
        ),
    ],
)
def test_a_refused_change_answers_htmx_with_its_partial_and_a_form_post_with_the_page(
    app, staff_browser, ids, url, data, page, partial
):
    url = url.format(**ids)
    with assert_rendered(app, *page):
        response = staff_browser.post(url, data=data)
    assert response.status_code == 422, response.text
    with assert_rendered(app, *partial):
        response = staff_browser.post(url, data=data, htmx=True)
    assert response.status_code == 422, response.text


def test_a_change_refused_as_stale_shows_the_request_as_it_is_now(app, staff_browser, tenant, ids):
    followups.change_status(tenant.id, ids["followup"], Status.CANCELLED, followups.Actor("tests"))
    url = f"/admin/followups/{ids['followup']}/status"
    with assert_rendered(app, *FOLLOWUPS_PAGE):
        response = staff_browser.post(url, data={"status": Status.CONTACTED})
    assert response.status_code == 409
    with assert_rendered(app, "admin/followups/_detail.html"):
        response = staff_browser.post(url, data={"status": Status.CONTACTED}, htmx=True)
    assert response.status_code == 200


def test_a_new_employee_is_opened_on_its_page(app, staff_browser):
    new = {"name": "Sam", "role": "Sales", "tone": "Friendly"}
    with assert_rendered(app):
        plain = staff_browser.post("/admin/agents", data=new)
        swapped = staff_browser.post("/admin/agents", data=new | {"name": "Kim"}, htmx=True)
    assert plain.status_code == 303 and swapped.status_code == 204
    assert swapped.headers["HX-Redirect"].startswith("/admin/agents/")


# --- the widget --------------------------------------------------------------------------------


@pytest.fixture
def visitor(app, tenant):
    """A visitor's chat as the widget page holds it: its key, its id and its session token."""
    client = app.test_client()
    key = tenant.widget_public_key
    with assert_rendered(app, "widget/_chat.html"):
        started = client.post(f"/w/{key}/chats", headers={"HX-Request": "true"})
    assert started.status_code == 201, started.text
    chat_id, token = started.headers["X-Chat-Id"], started.headers["X-Session-Token"]
    return client, f"/w/{key}/chats/{chat_id}", {"Authorization": f"Bearer {token}"}


def test_the_widget_page_is_always_the_page(app, tenant):
    client = app.test_client()
    for headers in ({}, {"HX-Request": "true"}):
        with assert_rendered(app, "widget/page.html"):
            response = client.get(f"/w/{tenant.widget_public_key}", headers=headers)
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("tail", "partial"),
    [
        ("", "widget/_chat.html"),
        ("/messages?after=0", "widget/_new_messages.html"),
        ("/contact", "widget/_contact.html"),
        ("/login", "widget/_login.html"),
        ("/requests", "widget/_requests.html"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_widget_pane_is_its_partial_with_or_without_htmx(app, visitor, tail, partial, htmx):
    """The widget's panes exist only inside its page: there is no page to answer with."""
    client, chat_url, headers = visitor
    headers = headers | ({"HX-Request": "true"} if htmx else {})
    with assert_rendered(app, partial):
        response = client.get(chat_url + tail, headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("tail", "data", "partial", "status"),
    [
        ("/messages", {"text": "Hello"}, "widget/_sent.html", 200),
        ("/messages", {"text": ""}, "_alert.html", 422),
        ("/login", {"email": "nobody@example.com"}, "widget/_login_sent.html", 200),
        ("/login", {"email": "not an address"}, "widget/_login.html", 422),
        (
            "/followups",
            {"form_key": "contact", "name": "Ann", "email": "ann@example.com", "reason": "Call"},
            "widget/_followup_sent.html",
            200,
        ),
        (
            "/followups",
            {"form_key": "contact", "name": "", "email": "ann@example.com", "reason": "Call"},
            "widget/_followup_form.html",
            422,
        ),
    ],
)
def test_a_widget_post_answers_with_its_partial(app, visitor, tail, data, partial, status):
    client, chat_url, headers = visitor
    with assert_rendered(app, partial):
        response = client.post(chat_url + tail, data=data, headers=headers | {"HX-Request": "true"})
    assert response.status_code == status, response.text
