"""The REST API's part of the team inbox (issue 14): `assignee_id` and `priority` in
PATCH and as list filters, and the notes of a request's timeline as a sub-resource."""

from datetime import timedelta

import pytest
import time_machine
from flask.testing import FlaskClient

from followup.clock import utcnow
from followup.extensions import db
from followup.models import FollowUpRequest
from followup.services import activity, followups, staff_accounts
from followup.services.followups import Actor

LIST_URL = "/api/v1/followups"


@pytest.fixture
def api(app, api_token) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_token}"
    return client


@pytest.fixture
def agent(tenant):
    return staff_accounts.create_staff_user(
        "acme", "agent@acme.example", "a long enough password", name="Aaron Agent"
    )


def fresh(followup_id: int) -> FollowUpRequest:
    db.session.rollback()
    return db.session.get(FollowUpRequest, followup_id)


def test_patch_assigns_and_unassigns_recording_the_token(api, tenant, agent, make_followup):
    followup = make_followup(tenant)
    body = api.patch(f"{LIST_URL}/{followup.id}", json={"assignee_id": agent.id}).get_json()
    assert body["assignee_id"] == agent.id
    assert (
        api.patch(f"{LIST_URL}/{followup.id}", json={"assignee_id": None}).get_json()["assignee_id"]
        is None
    )
    entries = [e for e in activity.timeline(fresh(followup.id)) if e.kind == "assignment"]
    assert [(e.to_value, e.actor.startswith("API token")) for e in entries] == [
        ("Nobody", True),
        ("Aaron Agent", True),
    ]


def test_patch_refuses_an_assignee_of_another_tenant_and_changes_nothing(
    api, tenant, other_tenant, make_followup
):
    followup = make_followup(tenant)
    outsider = staff_accounts.create_staff_user("globex", "g@globex.example", "another long one")
    response = api.patch(
        f"{LIST_URL}/{followup.id}", json={"assignee_id": outsider.id, "priority": "high"}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {
        "assignee_id": "Assignee: choose an active member of your team."
    }
    assert (fresh(followup.id).assignee_id, fresh(followup.id).priority) == (None, "normal")


def test_the_list_filters_by_assignee_priority_and_source(api, tenant, agent, make_followup):
    normal, high = make_followup(tenant), make_followup(tenant, priority="high")
    voice = make_followup(tenant, source="voice")
    followups.assign(tenant.id, normal.id, agent.id, Actor("tests"))

    def ids(query: str) -> list[int]:
        response = api.get(f"{LIST_URL}?{query}")
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids(f"assignee_id={agent.id}") == [normal.id]
    assert ids("priority=high") == [high.id]
    assert ids("source=voice") == [voice.id]
    assert ids("priority=") == [voice.id, high.id, normal.id]
    bad = api.get(f"{LIST_URL}?priority=urgent&assignee_id=x&source=fax")
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"priority", "assignee_id", "source"}


def test_notes_are_a_sub_resource_newest_first(api, tenant, make_followup):
    followup = make_followup(tenant)
    url = f"{LIST_URL}/{followup.id}/notes"
    assert api.get(url).get_json() == {"items": []}
    first = api.post(url, json={"text": "  Called, no answer.  "})
    assert first.status_code == 201 and first.headers["Location"].endswith(url)
    note = first.get_json()
    assert (note["text"], note["staff_user_id"], note["version"], note["edited_at"]) == (
        "Called, no answer.",
        None,
        0,
        None,
    )
    assert note["author"].startswith("API token")
    api.post(url, json={"text": "Called again."})
    assert [n["text"] for n in api.get(url).get_json()["items"]] == [
        "Called again.",
        "Called, no answer.",
    ]


@pytest.mark.parametrize(
    ("body", "fields"),
    [({"text": ""}, {"text"}), ({}, {"text"}), ({"text": "x", "pinned": True}, {"pinned"})],
)
def test_a_bad_note_is_422_and_adds_nothing(api, tenant, make_followup, body, fields):
    followup = make_followup(tenant)
    response = api.post(f"{LIST_URL}/{followup.id}/notes", json=body)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == fields
    assert activity.notes_of(tenant.id, followup.id) == []


def test_another_tenants_notes_do_not_exist(api, other_tenant, make_followup):
    theirs = make_followup(other_tenant)
    url = f"{LIST_URL}/{theirs.id}/notes"
    assert api.get(url).status_code == 404
    assert api.post(url, json={"text": "hello"}).status_code == 404
    assert activity.notes_of(other_tenant.id, theirs.id) == []


def test_the_list_filters_unassigned_and_overdue_and_refuses_mine(
    api, tenant, agent, make_followup
):
    with time_machine.travel(utcnow() - timedelta(hours=25), tick=False):
        late = make_followup(tenant)
    taken, fresh_one = make_followup(tenant), make_followup(tenant)
    followups.assign(tenant.id, taken.id, agent.id, Actor("tests"))

    def ids(query: str) -> list[int]:
        response = api.get(f"{LIST_URL}?{query}")
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("assignee=unassigned") == [fresh_one.id, late.id]
    assert ids("overdue=1") == [late.id]
    assert ids("overdue=1&assignee=unassigned") == [late.id]
    mine = api.get(f"{LIST_URL}?assignee=mine&overdue=maybe")
    assert mine.status_code == 422
    assert mine.get_json()["error"]["fields"] == {
        "assignee": "Assignee: use unassigned, or assignee_id for a member.",
        "overdue": "Overdue: use 1 or 0.",
    }
