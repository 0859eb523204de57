"""The AI Employees pages: list, create, the Persona, Working Hours, Channels, Auto
Follow-up and Chats tabs; every page as a full page and as an HTMX partial; the
rules the forms enforce (one web-widget agent, unique E.164 SMS numbers, step limits)."""

import re
from datetime import timedelta

import pytest

from followup.clock import utcnow
from followup.extensions import db
from followup.models import Agent, AutoFollowupStep, Chat
from followup.services import agents, chats
from tests.helpers.agents import AGENT, CLIENT, SCRIPT, make_agent, make_chat, schedule, unescaped
from tests.helpers.apps import text_of
from tests.helpers.database_work import database_work
from tests.helpers.templates import assert_rendered

TABS = {
    "persona": "",
    "working-hours": "/working-hours",
    "channels": "/channels",
    "auto-followup": "/auto-followup",
    "chats": "/chats",
}


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def step_rows(agent_id: int) -> list[tuple[int, int, str, bool]]:
    db.session.expire_all()
    return [
        (s.position, s.delay_minutes, s.instruction, s.run_once_per_chat)
        for s in db.session.query(AutoFollowupStep)
        .filter_by(agent_id=agent_id)
        .order_by(AutoFollowupStep.position)
    ]


@pytest.fixture
def alex(tenant):
    return make_agent(tenant, "Alex", role="Customer support assistant")


# --- the list and creating -------------------------------------------------------------------


def test_list_full_page_and_partial(staff_browser, tenant, alex):
    sam = make_agent(tenant, "Sam", role="Sales consultant", steps=2, sms_number="+14155550123")
    agents.set_autofollowup_enabled(tenant.id, sam.id, True)
    make_chat(sam, "Quote", messages=[(CLIENT, "hi")])
    with assert_rendered(staff_browser, "admin/agents/page.html"):
        page_response = staff_browser.get("/admin/agents")
    with assert_rendered(staff_browser, "admin/agents/_list.html"):
        partial_response = staff_browser.get("/admin/agents", htmx=True)
    page, partial = text_of(page_response), text_of(partial_response)
    assert page_response.status_code == partial_response.status_code == 200
    assert "<h1>AI Employees</h1>" in page and "New AI employee" in page
    assert re.search(r'href="/admin/agents"\s+aria-current="page">AI Employees<', page)
    assert "<html" not in partial and "<h1>" not in partial
    for body in (page, partial):
        rows = re.findall(r'<tr class="agent-row" data-agent-id="(\d+)">(.*?)</tr>', body, re.S)
        assert [int(agent_id) for agent_id, _ in rows] == [alex.id, sam.id]
        alex_row, sam_row = rows[0][1], rows[1][1]
        assert f'href="/admin/agents/{alex.id}"' in alex_row
        assert "Customer support assistant" in alex_row and "Website chat" in alex_row
        assert ">Off<" in alex_row and "SMS" not in alex_row
        assert "Sales consultant" in sam_row and "SMS" in sam_row and ">On<" in sam_row
        assert unescaped(r"<td[^>]*>(\d+)</td>", sam_row) == ["2", "1"]  # steps, chats
    assert "HX-Request" in partial_response.headers["Vary"]


def test_empty_list_explains_what_to_do(staff_browser):
    body = text_of(staff_browser.get("/admin/agents"))
    assert "No AI employees yet." in body and "the first one answers your website chat" in body
    # The new-employee form starts from the usual role and tone.
    assert 'id="role" name="role" value="Customer support assistant"' in body
    assert 'id="tone" name="tone" value="Friendly, clear and concise"' in body


def test_create_as_htmx_goes_to_the_new_employee(staff_browser, tenant):
    response = staff_browser.post(
        "/admin/agents",
        {"name": " Nina ", "role": "Concierge", "tone": "Warm", "instructions": "Be brief."},
        htmx=True,
    )
    nina = db.session.query(Agent).filter_by(name="Nina").one()
    # No 3xx: the browser's XHR would follow it and htmx would never see where to go.
    assert response.status_code == 204 and "Location" not in response.headers
    assert response.headers["HX-Redirect"] == f"/admin/agents/{nina.id}"
    assert "HX-Request" in response.headers["Vary"]
    assert (nina.role, nina.tone, nina.instructions) == ("Concierge", "Warm", "Be brief.")
    assert nina.tenant_id == tenant.id
    assert nina.serves_web_widget is True  # the tenant's first employee answers the widget
    assert nina.working_hours["mon"] == [["00:00", "24:00"]]  # 24/7 until told otherwise


def test_create_as_plain_form_redirects_and_later_ones_do_not_take_the_widget(staff_browser, alex):
    response = staff_browser.post(
        "/admin/agents", {"name": "Sam", "role": "Sales", "tone": "Warm", "instructions": ""}
    )
    sam = db.session.query(Agent).filter_by(name="Sam").one()
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/admin/agents/{sam.id}"
    )
    assert "HX-Redirect" not in response.headers and "HX-Request" in response.headers["Vary"]
    assert sam.serves_web_widget is False and fresh(Agent, alex.id).serves_web_widget is True


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_create_with_errors_shows_every_field_and_saves_nothing(staff_browser, htmx):
    template = "admin/agents/_new.html" if htmx else "admin/agents/page.html"
    with assert_rendered(staff_browser, template):
        response = staff_browser.post(
            "/admin/agents",
            {"name": "  ", "role": "x" * 201, "tone": "", "instructions": "keep me"},
            htmx=htmx,
        )
    body = text_of(response)
    assert response.status_code == 422
    assert db.session.query(Agent).count() == 0
    assert 'id="name-error" role="alert">Name: please fill this in.' in body
    assert 'id="role-error" role="alert">Role: keep it to 200 characters or fewer' in body
    assert 'id="tone-error" role="alert">Tone: please fill this in.' in body
    assert ">keep me</textarea>" in body  # what was typed stays
    assert '<details class="card new-agent" id="new-agent" open>' in body
    assert ("<html" in body) is not htmx


# --- tabs: a URL each, full page or partial --------------------------------------------------


@pytest.mark.parametrize("tab", list(TABS))
def test_every_tab_as_page_and_as_partial(staff_browser, alex, tab):
    url = f"/admin/agents/{alex.id}{TABS[tab]}"
    with assert_rendered(staff_browser, "admin/agents/agent.html"):
        page_response = staff_browser.get(url)
    with assert_rendered(staff_browser, "admin/agents/_agent.html"):  # header, tabs and tab
        partial_response = staff_browser.get(url, htmx=True)
    page, partial = text_of(page_response), text_of(partial_response)
    assert page_response.status_code == partial_response.status_code == 200
    assert "<html" in page and "<html" not in partial
    assert re.search(r'href="/admin/agents"\s+aria-current="page">AI Employees<', page)
    for body in (page, partial):
        assert '<h1 id="agent-name">Alex</h1>' in body
        current = re.findall(r'id="tab-([a-z-]+)"[^>]*\s+aria-current="page"', body)
        assert current == [tab]
        assert f'aria-labelledby="tab-{tab}"' in body
    assert "HX-Request" in partial_response.headers["Vary"]


def test_tab_query_argument_opens_that_tab(staff_browser, alex):
    body = text_of(staff_browser.get(f"/admin/agents/{alex.id}?tab=working-hours"))
    assert re.findall(r'id="tab-([a-z-]+)"[^>]*\s+aria-current="page"', body) == ["working-hours"]
    assert "Save working hours" in body


def test_unknown_agent_is_404(staff_browser):
    assert staff_browser.get("/admin/agents/999999").status_code == 404
    assert staff_browser.get("/admin/agents/99999999999", htmx=True).status_code == 404


# --- persona ---------------------------------------------------------------------------------


def test_save_persona_as_htmx_refreshes_the_header(staff_browser, alex):
    with assert_rendered(staff_browser, "admin/agents/_agent.html"):
        response = staff_browser.post(
            f"/admin/agents/{alex.id}/persona",
            {"name": "Alexandra", "role": "Concierge", "tone": "Calm", "instructions": "Know oak."},
            htmx=True,
        )
    body = text_of(response)
    assert response.status_code == 200
    assert '<h1 id="agent-name">Alexandra</h1>' in body and "Persona saved." in body
    saved = fresh(Agent, alex.id)
    assert (saved.name, saved.role, saved.tone, saved.instructions) == (
        "Alexandra",
        "Concierge",
        "Calm",
        "Know oak.",
    )


def test_save_persona_as_plain_form_redirects(staff_browser, alex):
    response = staff_browser.post(
        f"/admin/agents/{alex.id}/persona",
        {"name": "Al", "role": "Support", "tone": "Calm", "instructions": ""},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/agents/{alex.id}")


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_persona_errors_save_nothing(staff_browser, alex, htmx):
    response = staff_browser.post(
        f"/admin/agents/{alex.id}/persona",
        {"name": "n" * 101, "role": "", "tone": "Calm", "instructions": "i" * 8001},
        htmx=htmx,
    )
    body = text_of(response)
    assert response.status_code == 422
    assert "Name: keep it to 100 characters or fewer (this has 101)." in body
    assert "Instructions: keep it to 8,000 characters or fewer (this has 8,001)." in body
    assert 'id="role-error" role="alert">Role: please fill this in.' in body
    assert fresh(Agent, alex.id).name == "Alex"


def test_customer_controlled_and_staff_text_is_escaped(staff_browser, tenant):
    evil = make_agent(tenant, SCRIPT, role=SCRIPT)
    for url in ("/admin/agents", f"/admin/agents/{evil.id}", f"/admin/agents/{evil.id}/channels"):
        body = text_of(staff_browser.get(url))
        assert SCRIPT not in body and "&lt;script&gt;" in body


def test_delete_an_unused_employee(staff_browser, tenant, alex):
    sam = make_agent(tenant, "Sam", steps=2)
    response = staff_browser.post(f"/admin/agents/{sam.id}/delete", htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/admin/agents"
    assert fresh(Agent, sam.id) is None
    assert db.session.query(AutoFollowupStep).count() == 0


def test_an_employee_with_chats_or_the_widget_is_kept(staff_browser, tenant, alex):
    sam = make_agent(tenant, "Sam")
    make_chat(sam, messages=[(CLIENT, "hi")])
    for agent, reason in ((alex, "answers the website chat"), (sam, "has 1 chat")):
        response = staff_browser.post(f"/admin/agents/{agent.id}/delete", htmx=True)
        assert response.status_code == 409
        assert reason in text_of(response) and response.headers["HX-Retarget"] == "#alerts"
        assert fresh(Agent, agent.id) is not None


# --- working hours ---------------------------------------------------------------------------


def hours_form(**changes) -> dict:
    """The Working Hours form as the page posts it: 24/7 everywhere, then `changes`."""
    form = {"timezone": "Europe/Berlin", "op": "save"}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        form[f"{day}-start"], form[f"{day}-end"] = ["00:00"], ["24:00"]
    return form | changes


def test_save_hours_with_several_intervals_days_off_and_special_dates(staff_browser, alex):
    form = hours_form(
        **{
            "mon-start": ["13:00", "9:00", ""],  # a blank row is ignored; rows are sorted
            "mon-end": ["18:00", "12:00", ""],
            "sat-off": "on",
            "sun-off": "on",
            "special": ["0", "1"],
            "special-0-date": "2026-12-24",
            "special-0-start": ["10:00"],
            "special-0-end": ["14:00"],
            "special-1-date": "2026-12-25",
            "special-1-off": "on",
            "special-1-start": ["09:00"],
            "special-1-end": ["18:00"],
        }
    )
    response = staff_browser.post(f"/admin/agents/{alex.id}/working-hours", form, htmx=True)
    body = text_of(response)
    assert response.status_code == 200 and "Working hours saved." in body
    saved = fresh(Agent, alex.id)
    assert saved.timezone == "Europe/Berlin"
    assert saved.working_hours["mon"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert saved.working_hours["tue"] == [["00:00", "24:00"]]
    assert saved.working_hours["sat"] == saved.working_hours["sun"] == []
    assert saved.special_dates == {"2026-12-24": [["10:00", "14:00"]], "2026-12-25": []}
    # Shown again as saved: the days off are ticked, each special date has its row.
    assert re.search(r'name="sat-off" checked', body) and not re.search(
        r'name="mon-off" checked', body
    )
    assert 'name="special-1-off" checked' in body and 'value="2026-12-24"' in body


def test_editing_rows_and_presets_change_the_form_but_save_nothing(staff_browser, alex):
    url = f"/admin/agents/{alex.id}/working-hours"
    added = text_of(staff_browser.post(url, hours_form(op="add:tue"), htmx=True))
    assert len(re.findall(r'name="tue-start"', added)) == 2
    assert "Not saved yet" in added
    removed = text_of(staff_browser.post(url, hours_form(op="remove:wed:0"), htmx=True))
    assert 'name="wed-start"' not in removed
    dated = text_of(staff_browser.post(url, hours_form(op="add-date"), htmx=True))
    assert 'name="special-0-date"' in dated and 'name="special-0-off" checked' in dated
    preset = text_of(staff_browser.post(url, hours_form(op="preset:mon-fri-9-18"), htmx=True))
    assert "Preset filled in." in preset
    assert re.search(r'name="sat-off" checked', preset)
    assert re.search(r'name="mon-start" value="09:00"', preset)
    assert fresh(Agent, alex.id).working_hours["sat"] == [["00:00", "24:00"]]
    assert fresh(Agent, alex.id).timezone == "UTC"


@pytest.mark.parametrize("op", ["remove:wed:²", "remove:wed:7", "remove-date:²", "add:special-²"])
def test_a_button_naming_no_row_changes_nothing(staff_browser, alex, op):
    url = f"/admin/agents/{alex.id}/working-hours"
    response = staff_browser.post(url, hours_form(op=op), htmx=True)
    assert response.status_code == 200
    assert len(re.findall(r'name="wed-start"', text_of(response))) == 1
    assert "special-0-date" not in text_of(response)  # no special date came or went


def test_preset_then_save_stores_it(staff_browser, alex):
    url = f"/admin/agents/{alex.id}/working-hours"
    preset = text_of(staff_browser.post(url, hours_form(op="preset:mon-fri-9-18"), htmx=True))
    form = {"timezone": "America/New_York", "op": "save"}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        form[f"{day}-start"] = re.findall(rf'name="{day}-start" value="([^"]*)"', preset)
        form[f"{day}-end"] = re.findall(rf'name="{day}-end" value="([^"]*)"', preset)
        if re.search(rf'name="{day}-off" checked', preset):
            form[f"{day}-off"] = "on"
    assert staff_browser.post(url, form, htmx=True).status_code == 200
    saved = fresh(Agent, alex.id)
    assert saved.working_hours["fri"] == [["09:00", "18:00"]] and saved.working_hours["sat"] == []


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_bad_hours_are_shown_beside_their_row_and_nothing_is_saved(staff_browser, alex, htmx):
    form = hours_form(
        **{
            "timezone": "Mars/Olympus",
            "tue-start": ["18:00"],
            "tue-end": ["09:00"],
            "wed-start": ["25:00"],
            "wed-end": ["26:00"],
            "special": ["0", "1"],
            "special-0-date": "2026-02-30",
            "special-1-date": "2026-12-24",
        }
    )
    response = staff_browser.post(f"/admin/agents/{alex.id}/working-hours", form, htmx=htmx)
    body = text_of(response)
    assert response.status_code == 422
    assert "Nothing was saved" in body
    assert "Time zone: &#34;Mars/Olympus&#34; is not a time zone we know" in body
    assert re.search(r'id="tue-error" role="alert">Tuesday: the end \(09:00\) must be after', body)
    assert re.search(r'id="wed-error" role="alert">Wednesday: &#34;25:00&#34; is not a start', body)
    assert "Wednesday: &#34;26:00&#34; is not an end time" in body
    assert re.search(
        r'id="special-0-date-error" role="alert">Special date &#34;2026-02-30&#34;: enter a real',
        body,
    )
    # Only the times at fault are marked, each pointing to its day's message.
    assert invalid_inputs(body) == {
        "timezone": "timezone-error",
        "tue-end-0": "tue-error",
        "wed-start-0": "wed-error",
        "wed-end-0": "wed-error",
        "special-0-date": "special-0-date-error",
    }
    assert 'value="Mars/Olympus" selected' in body  # what was typed stays
    saved = fresh(Agent, alex.id)
    assert (saved.timezone, saved.special_dates) == ("UTC", {})


def invalid_inputs(body: str) -> dict[str, str]:
    """The id of every input marked invalid, with the id of the message it points to."""
    tags = re.findall(r"<(?:input|select)\b[^>]*>", body)
    marked = [tag for tag in tags if 'aria-invalid="true"' in tag]
    return {
        re.search(r'id="([^"]+)"', tag)[1]: re.search(r'aria-describedby="([^"]+)"', tag)[1]
        for tag in marked
    }


@pytest.mark.parametrize(
    ("starts", "ends", "wrong", "message"),
    [
        # The second interval ends before it starts: only its end.
        (["09:00", "13:00", "16:00"], ["12:00", "11:00", "18:00"], {"mon-end-1"}, "the end"),
        # The third starts at an hour that does not exist: only its start.
        (["09:00", "13:00", "25:30"], ["12:00", "15:00", "18:00"], {"mon-start-2"}, "not a start"),
        # Typed out of order, the first overlaps the second: the later one's start.
        (["13:00", "09:00"], ["18:00", "14:00"], {"mon-start-0"}, "overlaps 09:00"),
    ],
)
def test_only_the_wrong_time_of_a_day_is_marked(staff_browser, alex, starts, ends, wrong, message):
    form = hours_form(**{"mon-start": starts, "mon-end": ends})
    response = staff_browser.post(f"/admin/agents/{alex.id}/working-hours", form, htmx=True)
    body = text_of(response)
    assert response.status_code == 422
    assert invalid_inputs(body) == dict.fromkeys(wrong, "mon-error")
    assert re.search(rf'id="mon-error" role="alert">Monday: [^<]*{message}', body)
    assert 'class="day has-error"' not in body  # the row itself is not marked
    assert fresh(Agent, alex.id).working_hours["mon"] == [["00:00", "24:00"]]


def test_a_special_date_listed_twice_is_refused(staff_browser, alex):
    form = hours_form(
        **{
            "special": ["0", "1"],
            "special-0-date": "2026-12-24",
            "special-0-off": "on",
            "special-1-date": "2026-12-24",
            "special-1-start": ["10:00"],
            "special-1-end": ["12:00"],
        }
    )
    response = staff_browser.post(f"/admin/agents/{alex.id}/working-hours", form, htmx=True)
    assert response.status_code == 422
    listed_twice = "Special date 2026-12-24: it is already listed above."
    assert f'id="special-1-date-error" role="alert">{listed_twice}' in text_of(response)
    assert fresh(Agent, alex.id).special_dates == {}


# --- channels --------------------------------------------------------------------------------


def test_assigning_the_widget_moves_it_from_the_other_employee(staff_browser, tenant, alex):
    sam = make_agent(tenant, "Sam")
    page = text_of(staff_browser.get(f"/admin/agents/{sam.id}/channels"))
    assert "This employee answers the website chat" in page and "Now answered by" in page
    response = staff_browser.post(
        f"/admin/agents/{sam.id}/channels", {"serves_web_widget": "on", "sms_number": ""}, htmx=True
    )
    assert response.status_code == 200 and "Channels saved." in text_of(response)
    assert fresh(Agent, sam.id).serves_web_widget is True
    assert fresh(Agent, alex.id).serves_web_widget is False
    served = db.session.query(Agent).filter_by(tenant_id=tenant.id, serves_web_widget=True)
    assert served.count() == 1


def test_new_website_chats_go_to_the_employee_assigned_to_the_widget(staff_browser, tenant, alex):
    sam = make_agent(tenant, "Sam")
    before = chats.start_chat(tenant.widget_public_key).chat
    staff_browser.post(
        f"/admin/agents/{sam.id}/channels", {"serves_web_widget": "on", "sms_number": ""}
    )
    after = chats.start_chat(tenant.widget_public_key).chat
    assert (before.agent_id, after.agent_id) == (alex.id, sam.id)
    assert "I'm Sam from Acme Inc" in chats.history(after)[0].content
    # Chats already started stay with the employee who had them.
    assert fresh(Chat, before.id).agent_id == alex.id


def test_widget_assignment_stays_within_the_tenant(staff_browser, other_tenant, alex):
    theirs = make_agent(other_tenant, "Theirs")
    assert theirs.serves_web_widget is True
    staff_browser.post(
        f"/admin/agents/{alex.id}/channels", {"serves_web_widget": "on", "sms_number": ""}
    )
    assert fresh(Agent, theirs.id).serves_web_widget is True


def test_the_website_chat_cannot_be_left_without_an_employee(staff_browser, alex):
    response = staff_browser.post(
        f"/admin/agents/{alex.id}/channels", {"sms_number": "+14155550100"}, htmx=True
    )
    body = text_of(response)
    assert response.status_code == 422
    assert "This employee answers the website chat: it stays on" in body
    saved = fresh(Agent, alex.id)
    assert saved.serves_web_widget is True and saved.sms_number is None


def test_sms_number_is_stored_in_e164_and_can_be_cleared(staff_browser, alex):
    url = f"/admin/agents/{alex.id}/channels"
    staff_browser.post(url, {"serves_web_widget": "on", "sms_number": "+1 (415) 555-0100"})
    assert fresh(Agent, alex.id).sms_number == "+14155550100"
    staff_browser.post(url, {"serves_web_widget": "on", "sms_number": "  "})
    assert fresh(Agent, alex.id).sms_number is None


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("415 555 0100", "SMS number: enter the number with its country code"),
        ("+1 555", "SMS number: enter the number with its country code"),
        ("call me", "SMS number: enter the number with its country code"),
    ],
)
def test_bad_sms_numbers_are_refused(staff_browser, alex, number, message):
    response = staff_browser.post(
        f"/admin/agents/{alex.id}/channels",
        {"serves_web_widget": "on", "sms_number": number},
        htmx=True,
    )
    assert response.status_code == 422
    assert f'id="sms_number-error" role="alert">{message}' in text_of(response)
    assert fresh(Agent, alex.id).sms_number is None


def test_an_sms_number_belongs_to_one_employee_across_all_tenants(
    staff_browser, tenant, other_tenant, alex
):
    make_agent(other_tenant, "Theirs", sms_number="+14155550100")
    response = staff_browser.post(
        f"/admin/agents/{alex.id}/channels",
        {"serves_web_widget": "on", "sms_number": "+1 415 555 0100"},
        htmx=True,
    )
    body = text_of(response)
    assert response.status_code == 422
    assert "SMS number: another AI employee already uses this number." in body
    assert "Theirs" not in body  # nothing about the other tenant
    assert fresh(Agent, alex.id).sms_number is None


# --- chats tab -------------------------------------------------------------------------------


def test_chats_tab_lists_this_employees_chats_with_their_chain(staff_browser, tenant, alex):
    step = agents.add_step(
        tenant.id, alex.id, {"delay_hours": "4", "delay_minutes": "0", "instruction": "Nudge"}
    )
    agents.set_autofollowup_enabled(tenant.id, alex.id, True)
    due = utcnow() + timedelta(hours=3)
    scheduled = make_chat(
        alex,
        "Oak table",
        customer_name="Maria Garcia",
        messages=[(CLIENT, "Any oak tables?"), (AGENT, "Yes, three sizes.")],
    )
    schedule(scheduled, step, due)
    paused = make_chat(alex, "Paused chat", messages=[(CLIENT, SCRIPT)], autofollowup_paused=True)
    make_chat(alex, "Stopped", channel="sms", opted_out=True)
    make_chat(make_agent(tenant, "Sam"), "Sam's chat")
    body = text_of(staff_browser.get(f"/admin/agents/{alex.id}/chats", htmx=True))
    assert unescaped(r'class="row-link" href="/admin/chats/\d+">([^<]*)<', body) == [
        "Stopped",
        "Paused chat",
        "Maria Garcia",
    ]  # most recent first; the client's name names the chat
    assert f'href="/admin/chats/{scheduled.id}"' in body
    assert "Yes, three sizes." in body and "Step 1 due" in body
    assert ">Paused<" in body and ">Opted out<" in body and "SMS" in body
    assert SCRIPT not in body and "&lt;script&gt;" in body
    assert "Sam&#39;s chat" not in body
    assert fresh(Chat, paused.id).autofollowup_paused is True


def test_chats_tab_empty_state(staff_browser, tenant, alex):
    sam = make_agent(tenant, "Sam")
    assert "They appear here when a customer writes to Alex." in text_of(
        staff_browser.get(f"/admin/agents/{alex.id}/chats")
    )
    assert "Sam serves no channel yet" in text_of(
        staff_browser.get(f"/admin/agents/{sam.id}/chats")
    )


# --- CSRF and login --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/{id}/persona",
        "/{id}/channels",
        "/{id}/working-hours",
        "/{id}/auto-followup",
        "/{id}/steps",
        "/{id}/steps/example",
        "/{id}/delete",
    ],
)
def test_writes_without_csrf_token_are_refused(staff_browser, alex, path):
    before = (fresh(Agent, alex.id).name, db.session.query(Agent).count(), step_rows(alex.id))
    response = staff_browser.post(
        "/admin/agents" + path.format(id=alex.id),
        {
            "name": "Hacked",
            "role": "x",
            "tone": "x",
            "enabled": "on",
            "serves_web_widget": "on",
            "delay_hours": "1",
            "instruction": "x",
        },
        csrf=False,
        htmx=True,
    )
    assert response.status_code == 400
    assert (
        fresh(Agent, alex.id).name,
        db.session.query(Agent).count(),
        step_rows(alex.id),
    ) == before
    assert fresh(Agent, alex.id).autofollowup_enabled is False


def test_pages_need_a_login(browser, tenant):
    agent = make_agent(tenant)
    for url in ("/admin/agents", f"/admin/agents/{agent.id}/auto-followup"):
        response = browser.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- Auto Follow-up tab: the switch and the steps --------------------------------------------


def step_form(
    hours="0", minutes="1", instruction="Gently remind that we're available.", once=False
):
    form = {"delay_hours": hours, "delay_minutes": minutes, "instruction": instruction}
    return form | ({"run_once_per_chat": "on"} if once else {})


def test_tab_shows_the_switch_the_editor_and_the_spec_guidance(staff_browser, tenant, alex):
    body = text_of(staff_browser.get(f"/admin/agents/{alex.id}/auto-followup"))
    assert "Enable Auto Follow-up" in body and 'name="enabled"' in body
    assert "No steps yet: no reminder is sent" in body and "Use example chain" in body
    assert "How to write good step instructions" in body
    assert "Gently remind that we’re available. Ask if there are any remaining questions." in body  # noqa: RUF001 - the spec's typography
    assert "Write: Hello! We’d like to remind you that you can…" in body  # noqa: RUF001 - the spec's typography
    assert "More examples of good instructions:" in body
    assert "Check if the client has made a decision." in body
    assert "Remind about the special offer that was discussed." in body
    assert "Ask if everything is okay. If the client doesn’t respond, say a warm goodbye." in body  # noqa: RUF001 - the spec's typography
    assert "0 of 20 steps" in body


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_enable_and_disable(staff_browser, alex, htmx):
    url = f"/admin/agents/{alex.id}/auto-followup"
    on = staff_browser.post(url, {"enabled": "on"}, htmx=htmx)
    assert fresh(Agent, alex.id).autofollowup_enabled is True
    if htmx:
        assert on.status_code == 200 and "Auto Follow-up enabled." in text_of(on)
        assert 'id="af-enabled" name="enabled"' in text_of(on) and "checked" in text_of(on)
        # The header's badge follows (an out-of-band swap).
        assert re.search(
            r'id="agent-af-badge" hx-swap-oob="true"><span[^>]*>Auto Follow-up on<', text_of(on)
        )
        assert "<html" not in text_of(on)
    else:
        assert on.status_code == 303 and on.headers["Location"].endswith(url)
    off = staff_browser.post(url, {}, htmx=htmx)
    assert fresh(Agent, alex.id).autofollowup_enabled is False
    assert off.status_code == (200 if htmx else 303)


def test_new_step_form_is_a_blank_card(staff_browser, tenant, alex):
    make_agent(tenant, "Sam", steps=1)
    response = staff_browser.get(f"/admin/agents/{alex.id}/steps/new", htmx=True)
    body = text_of(response)
    assert response.status_code == 200 and body.lstrip().startswith('<li class="step-card is-new"')
    assert "Step 1" in body and "not saved yet" in body and "Delay (H / MIN)" in body
    assert "Message instruction" in body and "Run once per chat" in body
    assert f'hx-post="/admin/agents/{alex.id}/steps"' in body
    page = staff_browser.get(f"/admin/agents/{alex.id}/steps/new")
    assert (
        page.status_code == 200 and "<html" in text_of(page) and "step-card is-new" in text_of(page)
    )


def test_add_a_step_as_htmx_renumbers_the_list(staff_browser, tenant, alex):
    make_agent(tenant, "Sam", steps=1)
    url = f"/admin/agents/{alex.id}/steps"
    with assert_rendered(staff_browser, "admin/autofollowup/_steps.html"):  # renumbered
        first = staff_browser.post(url, step_form("0", "1"), htmx=True)
    assert first.status_code == 200
    assert (first.headers["HX-Retarget"], first.headers["HX-Reswap"]) == ("#af-steps", "outerHTML")
    staff_browser.post(url, step_form("24", "30", "Ask if the question is still relevant", True))
    assert step_rows(alex.id) == [
        (1, 1, "Gently remind that we're available.", False),
        (2, 24 * 60 + 30, "Ask if the question is still relevant", True),
    ]
    body = text_of(staff_browser.get(f"/admin/agents/{alex.id}/auto-followup", htmx=True))
    assert re.findall(r'class="step-title" id="step-\d+-title">Step (\d)', body) == ["1", "2"]
    assert "2 of 20 steps" in body


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (step_form("0", "0"), "delay", "Delay: make it at least 1 minute."),
        (step_form("", ""), "delay", "Delay: make it at least 1 minute."),
        (step_form("721", "0"), "delay_hours", "Hours: use a whole number from 0 to 720."),
        (step_form("-1", "5"), "delay_hours", "Hours: use a whole number from 0 to 720."),
        (step_form("1.5", "0"), "delay_hours", "Hours: use a whole number from 0 to 720."),
        (step_form("1", "60"), "delay_minutes", "Minutes: use a whole number from 0 to 59."),
        (step_form("1", "ten"), "delay_minutes", "Minutes: use a whole number from 0 to 59."),
        # Digits to str.isdigit() that int() refuses: a clear error, not a 500.
        (step_form("²", "0"), "delay_hours", "Hours: use a whole number from 0 to 720."),
        (step_form("1", "5²"), "delay_minutes", "Minutes: use a whole number from 0 to 59."),
        (
            step_form(instruction="   "),
            "instruction",
            "Message instruction: describe what the employee",
        ),
        (
            step_form(instruction="x" * 2001),
            "instruction",
            "Message instruction: keep it to 2,000 characters",
        ),
    ],
)
def test_a_bad_new_step_is_shown_with_its_error_in_place(staff_browser, alex, form, field, message):
    with assert_rendered(staff_browser, "admin/autofollowup/_step.html"):
        response = staff_browser.post(f"/admin/agents/{alex.id}/steps", form, htmx=True)
    body = text_of(response)
    assert response.status_code == 422
    assert body.lstrip().startswith('<li class="step-card is-new"')  # only the card comes back
    error_id = "step-new-instruction-error" if field == "instruction" else "step-new-delay-error"
    assert re.search(rf'id="{error_id}">\s*(<li>)?{re.escape(message)}', body)
    assert 'aria-invalid="true"' in body
    assert f'value="{form["delay_hours"]}"' in body  # what was typed stays
    assert step_rows(alex.id) == []


def test_a_bad_new_step_without_javascript_gets_the_page_with_the_card(staff_browser, alex):
    with assert_rendered(staff_browser, "admin/agents/agent.html"):
        response = staff_browser.post(f"/admin/agents/{alex.id}/steps", step_form("0", "0"))
    body = text_of(response)
    assert response.status_code == 422 and "<html" in body
    assert "step-card is-new" in body and "Delay: make it at least 1 minute." in body


def test_every_error_of_a_step_is_shown_at_once(staff_browser, alex):
    body = text_of(
        staff_browser.post(f"/admin/agents/{alex.id}/steps", step_form("999", "75", ""), htmx=True)
    )
    for message in (
        "Hours: use a whole number from 0 to 720.",
        "Minutes: use a whole number from 0 to 59.",
        "Message instruction: describe what the employee",
    ):
        assert message in body


def test_save_an_existing_step_in_place(staff_browser, tenant):
    agent = make_agent(tenant, steps=2)
    second = agent.steps[1]
    url = f"/admin/agents/{agent.id}/steps/{second.id}"
    response = staff_browser.post(url, step_form("48", "0", "Say a warm goodbye", True), htmx=True)
    body = text_of(response)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<li class="step-card" id="step-{second.id}"')
    assert "Step 2 saved." in body
    assert step_rows(agent.id)[1] == (2, 48 * 60, "Say a warm goodbye", True)
    refused = staff_browser.post(url, step_form("0", "0", ""), htmx=True)
    assert refused.status_code == 422 and "Delay: make it at least 1 minute." in text_of(refused)
    assert step_rows(agent.id)[1] == (2, 48 * 60, "Say a warm goodbye", True)
    plain = staff_browser.post(url, step_form("1", "0", "Shorter"))
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/auto-followup")


def test_reorder_steps_up_and_down(staff_browser, tenant):
    agent = make_agent(tenant, steps=3)
    first, second, third = (step.id for step in agent.steps)
    moved = staff_browser.post(
        f"/admin/agents/{agent.id}/steps/{third}/move", {"direction": "up"}, htmx=True
    )
    body = text_of(moved)
    assert moved.status_code == 200 and 'id="af-steps"' in body
    assert f'data-focus-id="step-{third}-up"' in body  # the keyboard stays on the button
    assert [r[2] for r in step_rows(agent.id)] == ["Nudge 1", "Nudge 3", "Nudge 2"]
    staff_browser.post(f"/admin/agents/{agent.id}/steps/{first}/move", {"direction": "down"})
    assert [r[2] for r in step_rows(agent.id)] == ["Nudge 3", "Nudge 1", "Nudge 2"]
    assert [r[0] for r in step_rows(agent.id)] == [1, 2, 3]
    # At either end nothing moves; the edge button says it is disabled.
    staff_browser.post(f"/admin/agents/{agent.id}/steps/{third}/move", {"direction": "up"})
    staff_browser.post(f"/admin/agents/{agent.id}/steps/{second}/move", {"direction": "down"})
    assert [r[2] for r in step_rows(agent.id)] == ["Nudge 3", "Nudge 1", "Nudge 2"]
    body = text_of(staff_browser.get(f"/admin/agents/{agent.id}/auto-followup"))
    assert re.search(rf'id="step-{third}-up"[^>]*aria-disabled="true"', body, re.S)
    assert re.search(rf'id="step-{second}-down"[^>]*aria-disabled="true"', body, re.S)
    bad = staff_browser.post(
        f"/admin/agents/{agent.id}/steps/{first}/move", {"direction": "sideways"}, htmx=True
    )
    assert bad.status_code == 422


def test_remove_a_step_renumbers_the_rest(staff_browser, tenant):
    agent = make_agent(tenant, steps=3)
    response = staff_browser.post(
        f"/admin/agents/{agent.id}/steps/{agent.steps[0].id}/delete", htmx=True
    )
    assert response.status_code == 200 and 'data-focus-id="add-step"' in text_of(response)
    assert [(r[0], r[2]) for r in step_rows(agent.id)] == [(1, "Nudge 2"), (2, "Nudge 3")]


def test_example_chain_fills_an_empty_chain_only(staff_browser, alex):
    url = f"/admin/agents/{alex.id}/steps/example"
    assert staff_browser.post(url, htmx=True).status_code == 200
    assert [(r[0], r[1]) for r in step_rows(alex.id)] == [(1, 240), (2, 1440), (3, 2880)]
    assert step_rows(alex.id)[0][2] == "Remind the user that we're available and ready to help"
    again = staff_browser.post(url, htmx=True)
    assert again.status_code == 422 and "only start an empty chain" in text_of(again)
    assert len(step_rows(alex.id)) == 3


def test_at_most_twenty_steps(staff_browser, tenant):
    agent = make_agent(tenant, steps=agents.MAX_STEPS)
    page = text_of(staff_browser.get(f"/admin/agents/{agent.id}/auto-followup"))
    assert "This chain has the maximum of 20 steps." in page and "+ Add step" not in page
    response = staff_browser.post(f"/admin/agents/{agent.id}/steps", step_form(), htmx=True)
    assert response.status_code == 422
    assert "An employee can have at most 20 steps." in text_of(response)
    assert len(step_rows(agent.id)) == agents.MAX_STEPS


def test_another_agents_step_is_404(staff_browser, tenant, alex):
    sam = make_agent(tenant, "Sam", steps=1)
    theirs = sam.steps[0].id
    for path in (f"/steps/{theirs}", f"/steps/{theirs}/delete", f"/steps/{theirs}/move"):
        response = staff_browser.post(
            f"/admin/agents/{alex.id}{path}", step_form() | {"direction": "up"}, htmx=True
        )
        assert response.status_code == 404
    assert step_rows(sam.id) == [(1, 60, "Nudge 1", False)]


def test_chats_tab_queries_do_not_grow_with_its_chats(staff_browser, tenant):
    agent = make_agent(tenant, steps=3)
    agents.set_autofollowup_enabled(tenant.id, agent.id, True)

    def queries_for_tab_with(chat_count: int) -> int:
        for n in range(db.session.query(Chat).count(), chat_count):
            schedule(
                make_chat(agent, messages=[(CLIENT, "hi")]),
                agent.steps[n % 3],
                utcnow() + timedelta(hours=1),
            )
        with database_work() as seen:
            assert staff_browser.get(f"/admin/agents/{agent.id}/chats").status_code == 200
        return len(seen)

    assert queries_for_tab_with(3) == queries_for_tab_with(9)


def test_step_instructions_are_escaped(staff_browser, tenant, alex):
    staff_browser.post(f"/admin/agents/{alex.id}/steps", step_form(instruction=SCRIPT))
    body = text_of(staff_browser.get(f"/admin/agents/{alex.id}/auto-followup"))
    assert SCRIPT not in body and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body


def test_changing_steps_replans_running_chains(staff_browser, tenant):
    """The engine decides again for chats whose reminder is pending (steps moved)."""
    agent = make_agent(tenant, steps=2, autofollowup_enabled=True)
    first, second = agent.steps
    chat = make_chat(agent, messages=[(CLIENT, "hi"), (AGENT, "hello")])
    chat.last_client_message_at = utcnow()
    schedule(chat, first, utcnow() + timedelta(hours=1))
    staff_browser.post(f"/admin/agents/{agent.id}/steps/{first.id}/delete", htmx=True)
    assert fresh(Chat, chat.id).chain_step_id == second.id
