"""The Auto Follow-up monitoring dashboard: every chat with an active chain, its search,
the employee filter, the empty state, and rows that open the chat."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from followup.clock import utcnow
from followup.extensions import db
from followup.models import ChainEnd, ReminderSend, Status
from followup.services import agents, followups
from tests.helpers.agents import SCRIPT, make_agent, make_chat, schedule, unescaped
from tests.helpers.apps import text_of
from tests.helpers.templates import assert_rendered


def chat_names(body: str) -> list[str]:
    return unescaped(
        r'<th scope="row"><a class="row-link" href="/admin/chats/\d+">([^<]*)</a>', body
    )


@pytest.fixture
def team(tenant):
    """Alex and Sam, both with a chain; Nina has auto follow-up off."""
    alex = make_agent(tenant, "Alex", steps=3, autofollowup_enabled=True)
    sam = make_agent(tenant, "Sam", steps=2, autofollowup_enabled=True)
    nina = make_agent(tenant, "Nina", steps=1)
    soon = utcnow() + timedelta(hours=1)
    chats = {
        "michael": schedule(
            make_chat(alex, "Pricing", customer_name="Michael Brown"),
            alex.steps[1],
            soon + timedelta(hours=2),
        ),
        "oak": schedule(make_chat(sam, "Oak table order"), sam.steps[0], soon),
        "anna": schedule(
            make_chat(alex, "Delivery", customer_name="Anna Lee"),
            alex.steps[0],
            soon + timedelta(hours=1),
        ),
        # Not active: paused, opted out, exhausted, never started, agent switched off.
        "paused": schedule(
            make_chat(alex, "Paused", autofollowup_paused=True), alex.steps[0], soon
        ),
        "stopped": schedule(make_chat(alex, "Stopped", opted_out=True), alex.steps[0], soon),
        "done": make_chat(alex, "Done", chain_ended=ChainEnd.EXHAUSTED),
        "quiet": make_chat(alex, "Quiet"),
        "nina": schedule(make_chat(nina, "Nina's chat"), nina.steps[0], soon),
    }
    db.session.add(ReminderSend(chat_id=chats["michael"].id, cycle=1, step_id=alex.steps[0].id))
    db.session.commit()
    return {"alex": alex, "sam": sam, "nina": nina, **chats}


def test_page_and_partial_list_active_chains_soonest_first(staff_browser, team):
    page_response = staff_browser.get("/admin/auto-followup")
    partial_response = staff_browser.get("/admin/auto-followup", htmx=True)
    page, partial = text_of(page_response), text_of(partial_response)
    assert page_response.status_code == partial_response.status_code == 200
    assert "<h1>Auto Follow-up</h1>" in page
    assert re.search(r'href="/admin/auto-followup"\s+aria-current="page">Auto Follow-up<', page)
    assert 'placeholder="Search by name, agent, or client"' in page
    assert '<option value="" selected>All employees</option>' in page
    assert re.findall(r'<option value="\d+" >([^<]*)</option>', page) == ["Alex", "Sam", "Nina"]
    assert "<html" not in partial and "<h1>" not in partial
    for body in (page, partial):
        assert ">Chat</th>" in body and ">Employee</th>" in body
        assert ">Next step</th>" in body and ">Due</th>" in body and "Reminders sent" in body
        assert chat_names(body) == ["Oak table order", "Anna Lee", "Michael Brown"]
    assert "HX-Request" in partial_response.headers["Vary"]


def test_a_row_has_employee_step_due_time_reminders_and_opens_the_chat(staff_browser, team):
    body = text_of(staff_browser.get("/admin/auto-followup"))
    row = re.search(rf'data-chat-id="{team["michael"].id}">(.*?)</tr>', body, re.S).group(1)
    assert f'href="/admin/chats/{team["michael"].id}"' in row
    cells = unescaped(r"<td[^>]*>(.*?)</td>", row)
    assert cells[0] == "Alex" and cells[1] == "Step 2" and cells[3] == "1"
    assert re.search(r"UTC</time>", cells[2])
    opened = staff_browser.get(f"/admin/chats/{team['michael'].id}")
    assert opened.status_code == 200 and "<h1>Michael Brown</h1>" in text_of(opened)


def test_due_time_is_in_the_tenants_time_zone(staff_browser, tenant, team):
    tenant.timezone = "America/New_York"
    db.session.commit()
    due = datetime(2031, 7, 4, 16, 0, tzinfo=UTC)
    schedule(team["oak"], team["sam"].steps[0], due)
    body = text_of(staff_browser.get("/admin/auto-followup"))
    assert 'datetime="2031-07-04T16:00:00Z">Jul 4, 2031 12:00 EDT</time>' in body


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("michael", ["Michael Brown"]),  # the client's name
        ("SAM", ["Oak table order"]),  # the employee's name
        ("table", ["Oak table order"]),  # a word of the chat's title
        ("alex", ["Anna Lee", "Michael Brown"]),
        ("nina", []),  # her chains are not active: auto follow-up is off
        ("100%_", []),  # LIKE wildcards are literal
    ],
)
def test_search_by_client_employee_or_chat_title(staff_browser, team, q, expected):
    response = staff_browser.get("/admin/auto-followup", query_string={"q": q}, htmx=True)
    assert chat_names(text_of(response)) == expected


def test_filter_by_employee_and_combine_with_search(staff_browser, team):
    alex_id = team["alex"].id
    body = text_of(staff_browser.get(f"/admin/auto-followup?agent={alex_id}"))
    assert chat_names(body) == ["Anna Lee", "Michael Brown"]
    assert f'<option value="{alex_id}" selected>Alex</option>' in body
    both = text_of(staff_browser.get(f"/admin/auto-followup?agent={alex_id}&q=anna", htmx=True))
    assert chat_names(both) == ["Anna Lee"]
    none = text_of(staff_browser.get(f"/admin/auto-followup?agent={alex_id}&q=oak", htmx=True))
    assert chat_names(none) == [] and "No active chains match “oak” for Alex." in none


def test_bad_filters_are_refused(staff_browser, team, other_tenant):
    for bad in ("abc", "²", "-1"):
        response = staff_browser.get("/admin/auto-followup", query_string={"agent": bad})
        assert response.status_code == 422 and "Employee: choose one from the list." in text_of(
            response
        )
    assert staff_browser.get("/admin/auto-followup?q=" + "x" * 201, htmx=True).status_code == 422
    theirs = make_agent(other_tenant, "Theirs")
    assert staff_browser.get(f"/admin/auto-followup?agent={theirs.id}").status_code == 404


def test_empty_dashboard_explains_why(staff_browser, tenant):
    make_agent(tenant, "Alex", steps=1)
    body = text_of(staff_browser.get("/admin/auto-followup"))
    assert "No chats with an active auto follow-up right now." in body
    assert "only while its chain is active" in body and "until the client replies" in body
    assert "Auto Follow-up turned off or without steps" in body


def test_load_more_pages_through_many_chains(app, staff_browser, tenant):
    app.config["AUTO_FOLLOWUP_PAGE_SIZE"] = 2
    agent = make_agent(tenant, "Alex", steps=1, autofollowup_enabled=True)
    base = utcnow() + timedelta(hours=1)
    for n in range(5):
        schedule(make_chat(agent, f"Chat {n}"), agent.steps[0], base + timedelta(minutes=n))
    with assert_rendered(staff_browser, "admin/autofollowup/page.html"):
        first = text_of(staff_browser.get("/admin/auto-followup"))
    assert chat_names(first) == ["Chat 0", "Chat 1"]
    more = re.search(r'hx-get="([^"]+after=[^"]+)"', first).group(1).replace("&amp;", "&")
    with assert_rendered(staff_browser, "admin/autofollowup/_rows.html"):
        second = text_of(staff_browser.get(more, htmx=True))
    with assert_rendered(staff_browser, "admin/autofollowup/page.html"):  # a plain visit
        assert staff_browser.get(more).status_code == 200
    assert second.lstrip().startswith('<tr class="af-row"')  # rows only, appended in place
    assert chat_names(second) == ["Chat 2", "Chat 3"] and "Load more" in second


def test_names_are_escaped(staff_browser, tenant):
    agent = make_agent(tenant, SCRIPT, steps=1, autofollowup_enabled=True)
    schedule(make_chat(agent, SCRIPT, customer_name=SCRIPT), agent.steps[0], utcnow())
    body = text_of(staff_browser.get("/admin/auto-followup"))
    assert SCRIPT not in body and body.count("&lt;script&gt;") >= 3


def test_the_dashboard_is_read_only(staff_browser, team):
    before = agents.list_agents(team["alex"].tenant_id)
    assert staff_browser.post("/admin/auto-followup", htmx=True).status_code == 405
    assert [row.step_count for row in agents.list_agents(team["alex"].tenant_id)] == [
        row.step_count for row in before
    ]


def test_a_chat_handed_to_the_team_shows_why_no_reminder_is_coming(
    staff_browser, tenant, team, make_followup, moved_clock
):
    chat = make_chat(
        team["alex"], "Callback", customer_name="Hana Ito", last_client_message_at=utcnow()
    )
    request = make_followup(tenant, name="Hana Ito", chat_id=chat.id)
    body = text_of(staff_browser.get("/admin/auto-followup"))
    assert chat_names(body) == ["Oak table order", "Anna Lee", "Michael Brown", "Hana Ito"]
    row = re.search(rf'data-chat-id="{chat.id}">(.*?)</tr>', body, re.S).group(1)
    assert f'href="/admin/chats/{chat.id}"' in row
    link = f'class="chain-state chain-handed_off cell-link" href="/admin/followups/{request.id}"'
    assert f"<a {link}>Handed to the team</a>" in row
    assert unescaped(r"<td[^>]*>(.*?)</td>", row)[2:] == [
        '<span class="muted">None until the client writes</span>',
        "0",
    ]

    followups.change_status(tenant.id, request.id, Status.CANCELLED, followups.Actor("Olivia"))
    body = text_of(staff_browser.get("/admin/auto-followup"))
    assert "Hana Ito" not in chat_names(body)
