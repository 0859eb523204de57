"""Every admin and API route that takes an id answers 404 for another tenant's id.

The routes are read from the app's URL map, so a new route is covered the day it
is added; an id argument this test does not know yet makes it fail loudly.
"""

import pytest

from followup.config import TestConfig
from followup.extensions import db
from followup.factory import create_app
from followup.models import Agent, Chat, FollowUpRequest, Message, StaffUser, Status
from followup.services import activity, staff_accounts
from followup.services.followups import Actor
from tests.helpers.agents import make_agent, make_chat
from tests.helpers.staff import PASSWORD

ID_ROUTE_PREFIXES = ("/admin/", "/api/v1/")


def _id_routes() -> list[tuple[str, str]]:
    app = create_app(TestConfig)
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(ID_ROUTE_PREFIXES) and rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((method, rule.rule))
    return routes


ID_ROUTES = _id_routes()
# Admin routes are walked as a page request and as an HTMX request; the API has one kind.
WALK = [
    pytest.param(method, rule, htmx, id=f"{method} {rule} {'htmx' if htmx else 'page'}")
    for method, rule in ID_ROUTES
    for htmx in ((False, True) if rule.startswith("/admin/") else (False,))
]


def test_the_walk_covers_the_known_id_routes():
    assert {
        ("GET", "/admin/followups/<int:followup_id>"),
        ("POST", "/admin/followups/<int:followup_id>/status"),
        ("POST", "/admin/followups/<int:followup_id>/assign"),
        ("POST", "/admin/followups/<int:followup_id>/priority"),
        ("POST", "/admin/followups/<int:followup_id>/timeline/notes"),
        ("POST", "/admin/followups/<int:followup_id>/timeline/notes/<int:note_id>"),
        ("POST", "/admin/followups/<int:followup_id>/timeline/notes/<int:note_id>/delete"),
        ("GET", "/admin/users/<int:customer_id>"),
        ("GET", "/admin/agents/<int:agent_id>"),
        ("GET", "/admin/agents/<int:agent_id>/auto-followup"),
        ("POST", "/admin/agents/<int:agent_id>/persona"),
        ("POST", "/admin/agents/<int:agent_id>/channels"),
        ("POST", "/admin/agents/<int:agent_id>/working-hours"),
        ("POST", "/admin/agents/<int:agent_id>/delete"),
        ("POST", "/admin/agents/<int:agent_id>/steps/<int:step_id>"),
        ("POST", "/admin/agents/<int:agent_id>/steps/<int:step_id>/move"),
        ("POST", "/admin/agents/<int:agent_id>/steps/<int:step_id>/delete"),
        ("GET", "/admin/chats/<int:chat_id>"),
        ("POST", "/admin/chats/<int:chat_id>/reply"),
        ("POST", "/admin/chats/<int:chat_id>/pause"),
        ("GET", "/api/v1/followups/<int:followup_id>"),
        ("PATCH", "/api/v1/followups/<int:followup_id>"),
        ("GET", "/api/v1/followups/<int:followup_id>/notes"),
        ("POST", "/api/v1/followups/<int:followup_id>/notes"),
    } <= set(ID_ROUTES)


# Plausible bodies, so a 404 cannot be a 400/422 in disguise.
BODIES = {"status": "contacted", "notes": "intruder was here"}
ADMIN_BODIES = BODIES | {
    # AI employees, their steps, chats
    "name": "Intruder",
    "role": "Intruder",
    "tone": "Rude",
    "instructions": "intruder was here",
    "serves_web_widget": "on",
    "sms_number": "+14155550199",
    "timezone": "UTC",
    "op": "save",
    "enabled": "on",
    "delay_hours": "1",
    "delay_minutes": "0",
    "instruction": "intruder was here",
    "direction": "down",
    "text": "intruder was here",
    "paused": "on",
    # the team inbox: priority, a note's version
    "priority": "high",
    "version": "0",
}


def _their_state(agent_id: int, chat_id: int) -> tuple:
    """Everything the walk could change of the other tenant's agent, steps and chat."""
    db.session.expire_all()
    agent = db.session.get(Agent, agent_id)
    chat = db.session.get(Chat, chat_id)
    return (
        (agent.name, agent.serves_web_widget, agent.sms_number, agent.autofollowup_enabled),
        [(s.id, s.position, s.delay_minutes, s.instruction) for s in agent.steps],
        (chat.autofollowup_paused, db.session.query(Message).filter_by(chat_id=chat.id).count()),
    )


@pytest.mark.parametrize(("method", "rule", "htmx"), WALK)
def test_another_tenants_id_is_404(
    staff_browser, api_token, other_tenant, make_followup, method, rule, htmx
):
    theirs = make_followup(other_tenant, name="Their Customer")
    their_agent = make_agent(other_tenant, "Their Customer Agent", steps=2)
    their_chat = make_chat(their_agent, "Their Customer chat", messages=[("client", "hello")])
    their_note = activity.add_note(theirs, "Their note", Actor("Their Staff"))
    staff_accounts.create_staff_user(other_tenant.slug, "boss@globex.example", PASSWORD)
    their_member = staff_accounts.create_staff_user(
        other_tenant.slug, "member@globex.example", PASSWORD, "Their Customer Member", "agent"
    )
    before = _their_state(their_agent.id, their_chat.id)
    ids = {
        "note_id": their_note.id,
        "member_id": their_member.id,
        "followup_id": theirs.id,
        "customer_id": theirs.customer_id,
        "agent_id": their_agent.id,
        "step_id": their_agent.steps[0].id,
        "chat_id": their_chat.id,
    }
    url = rule
    for name, value in ids.items():
        url = url.replace(f"<int:{name}>", str(value))
    assert "<" not in url, f"teach this test the id argument of {rule}"

    if rule.startswith("/api/"):
        response = staff_browser.client.open(
            url,
            method=method,
            json=BODIES if method != "GET" else None,
            headers={"Authorization": f"Bearer {api_token}"},
        )
        assert response.get_json()["error"]["code"] == "not_found"
    elif method == "GET":
        response = staff_browser.get(url, htmx=htmx)
    else:
        response = staff_browser.post(url, data=ADMIN_BODIES, htmx=htmx)

    assert response.status_code == 404, (method, url, response.get_data(as_text=True)[:300])
    assert "Their Customer" not in response.get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(FollowUpRequest, theirs.id)
    assert (stored.status, stored.notes) == (Status.PENDING, "")
    assert (stored.priority, stored.assignee_id) == ("normal", None)
    assert [n.text for n in activity.notes_of(other_tenant.id, theirs.id)] == ["Their note"]
    assert _their_state(their_agent.id, their_chat.id) == before
    stored_member = db.session.get(StaffUser, their_member.id)
    assert (stored_member.role, stored_member.status) == ("agent", "active")


def test_own_agent_with_another_tenants_step_is_404(staff_browser, tenant, other_tenant):
    """Both ids must be ours: our agent's URL with their step changes nothing."""
    ours = make_agent(tenant, "Ours")
    theirs = make_agent(other_tenant, "Theirs", steps=1)
    step = theirs.steps[0].id
    for path in (f"/steps/{step}", f"/steps/{step}/move", f"/steps/{step}/delete"):
        response = staff_browser.post(
            f"/admin/agents/{ours.id}{path}", data=ADMIN_BODIES, htmx=True
        )
        assert response.status_code == 404
    db.session.expire_all()
    assert [(s.id, s.instruction) for s in db.session.get(Agent, theirs.id).steps] == [
        (step, "Nudge 1")
    ]
