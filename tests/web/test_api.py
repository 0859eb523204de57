"""The REST API (/api/v1): token auth, listing, creation, workflow moves, errors, OpenAPI."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import func, select

from followup.clock import utcnow
from followup.extensions import db
from followup.models import ApiToken, Customer, FollowUpRequest, FollowUpStatusChange, Status
from followup.services import api_tokens, followup_limits, followups

LIST_URL = "/api/v1/followups"
FOLLOWUP_KEYS = {
    "id",
    "name",
    "email",
    "phone",
    "reason",
    "summary",
    "priority",
    "status",
    "source",
    "notes",
    "notes_version",
    "chat_id",
    "response_time_hours",
    "due_at",
    "assignee_id",
    "created_at",
    "contacted_at",
    "resolved_at",
    "cancelled_at",
    "overdue",
}
NEW_REQUEST = {
    "name": "Ada Lovelace",
    "email": "Ada@Example.com",
    "phone": "+1 415 555 0100",
    "reason": "Wants a call about her invoice",
    "summary": "Asked twice about invoice 42.",
    "priority": "high",
}
SYSTEM = followups.Actor("system")


def url(followup_id: int) -> str:
    return f"{LIST_URL}/{followup_id}"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(app, api_token) -> FlaskClient:
    """A client that sends the tenant's API token with every request."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_token}"
    return client


@pytest.fixture
def anonymous(app) -> FlaskClient:
    return app.test_client()


def fresh(followup_id: int) -> FollowUpRequest:
    """The row as stored: drop anything a refused request left in the shared session."""
    db.session.rollback()
    return db.session.get(FollowUpRequest, followup_id)


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def error_of(response) -> dict:
    assert response.content_type == "application/json"
    return response.get_json()["error"]


def legacy_notes(tenant, followup, notes: str) -> None:
    """Notes saved before, the way older clients save them: a PATCH, last save wins."""
    followups.update_followup(tenant.id, followup.id, {"notes": notes}, SYSTEM)


def move(tenant, followup, *statuses: Status) -> None:
    for status in statuses:
        followups.change_status(tenant.id, followup.id, status, SYSTEM)


# --- authentication ---------------------------------------------------------------------

EVERY_ROUTE = [("get", LIST_URL), ("post", LIST_URL), ("get", url(1)), ("patch", url(1))]


@pytest.mark.parametrize(("method", "path"), EVERY_ROUTE)
def test_requests_without_a_token_get_401_with_a_bearer_challenge(anonymous, tenant, method, path):
    response = getattr(anonymous, method)(path, json={"status": "contacted"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize(
    "authorization", ["Bearer fu_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer ", "fu_abc"]
)
def test_bad_tokens_and_other_schemes_get_401(anonymous, api_token, authorization):
    response = anonymous.get(LIST_URL, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_gets_401(api, api_token):
    assert api.get(LIST_URL).status_code == 200
    token = db.session.scalar(select(ApiToken))
    token.revoked_at = utcnow()
    db.session.commit()
    response = api.get(LIST_URL)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_the_bearer_scheme_is_case_insensitive(anonymous, api_token):
    response = anonymous.get(LIST_URL, headers={"Authorization": f"bearer {api_token}"})
    assert response.status_code == 200


# --- listing ----------------------------------------------------------------------------


def test_list_returns_items_total_page_and_per_page(api, tenant, make_followup, app):
    created = make_followup(tenant)
    body = api.get(LIST_URL).get_json()
    assert body["total"] == 1
    assert body["page"] == 1
    assert body["per_page"] == app.config["API_PAGE_SIZE"]
    assert [item["id"] for item in body["items"]] == [created.id]
    assert set(body["items"][0]) == FOLLOWUP_KEYS


def test_pages_split_the_list_newest_first_without_overlap(api, tenant, make_followup):
    ids = [make_followup(tenant).id for _ in range(5)]
    pages = [api.get(f"{LIST_URL}?per_page=2&page={n}").get_json() for n in (1, 2, 3, 4)]
    assert [len(page["items"]) for page in pages] == [2, 2, 1, 0]
    assert {page["total"] for page in pages} == {5}
    assert [page["page"] for page in pages] == [1, 2, 3, 4]
    seen = [item["id"] for page in pages for item in page["items"]]
    assert seen == sorted(ids, reverse=True)


def test_status_filter_lists_only_that_status(api, tenant, make_followup):
    pending = make_followup(tenant)
    contacted = make_followup(tenant)
    move(tenant, contacted, Status.CONTACTED)

    def ids(status: str) -> list[int]:
        return [item["id"] for item in api.get(f"{LIST_URL}?status={status}").get_json()["items"]]

    assert ids("pending") == [pending.id]
    assert ids("contacted") == [contacted.id]
    assert ids("resolved") == []
    assert sorted(ids("all")) == sorted(ids("")) == [pending.id, contacted.id]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("lovelace", "ada"),
        ("GRACE@NAVY", "grace"),
        ("printer on fire", "grace"),
        ("100%", "percent"),
        ("under_score", "underscore"),
        ("nobody", None),
    ],
)
def test_search_matches_name_email_and_reason_literally(api, tenant, make_followup, q, expected):
    made = {
        "ada": make_followup(tenant, name="Ada Lovelace", reason="Invoice question"),
        "grace": make_followup(tenant, email="grace@navy.example", reason="Printer on fire"),
        "percent": make_followup(tenant, reason="Wants a 100% refund"),
        # Would match too if % and _ in the query were wildcards.
        "per_mille": make_followup(tenant, reason="Wants a 1000 refund"),
        "underscore": make_followup(tenant, name="under_score"),
        "under_x": make_followup(tenant, name="underXscore"),
    }
    body = api.get(LIST_URL, query_string={"q": q}).get_json()
    assert [item["id"] for item in body["items"]] == ([made[expected].id] if expected else [])
    assert body["total"] == (1 if expected else 0)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page=%2B1", "page"),
        ("page=99999999999999999999", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("status=archived", "status"),
        ("q=" + "x" * 201, "q"),
    ],
)
def test_bad_list_parameters_get_422_naming_the_field(api, tenant, query, field):
    response = api.get(f"{LIST_URL}?{query}")
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_failed"
    assert set(error["fields"]) == {field}


def test_every_bad_list_parameter_is_named_at_once(api, tenant):
    response = api.get(f"{LIST_URL}?page=0&per_page=500&status=nope")
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"page", "per_page", "status"}


# --- creation ---------------------------------------------------------------------------


def test_create_returns_201_the_request_and_its_location(api, tenant):
    # Every request reads the clock for "overdue", so all of them run on the moved clock.
    with time_machine.travel(datetime(2026, 11, 21, 9, 40, tzinfo=UTC), tick=False):
        _check_created_and_fetched(api)


def _check_created_and_fetched(api):
    response = api.post(LIST_URL, json=NEW_REQUEST)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == FOLLOWUP_KEYS
    assert body | {"id": None} == {
        "id": None,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+14155550100",
        "reason": "Wants a call about her invoice",
        "summary": "Asked twice about invoice 42.",
        "priority": "high",
        "status": "pending",
        "source": "api",
        "notes": "",
        "notes_version": 0,
        "chat_id": None,
        "assignee_id": None,
        "created_at": "2026-11-21T09:40:00Z",
        "contacted_at": None,
        "resolved_at": None,
        "cancelled_at": None,
        "response_time_hours": 24,
        "due_at": "2026-11-22T09:40:00Z",
        "overdue": False,
    }
    assert response.headers["Location"].endswith(url(body["id"]))
    fetched = api.get(response.headers["Location"])
    assert fetched.status_code == 200
    assert fetched.get_json() == body
    assert [item["id"] for item in api.get(LIST_URL).get_json()["items"]] == [body["id"]]


def test_create_with_only_the_required_fields_uses_the_defaults(api, tenant):
    minimal = {"name": "Bo", "email": "bo@example.com", "reason": "Call me"}
    body = api.post(LIST_URL, json=minimal).get_json()
    assert (body["phone"], body["summary"], body["priority"]) == (None, None, "normal")


def test_create_with_bad_fields_names_each_one_and_creates_nothing(api, tenant):
    response = api.post(
        LIST_URL,
        json={"name": "Ada", "email": "not-an-email", "phone": "12", "priority": "urgent"},
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_failed"
    assert set(error["fields"]) == {"email", "phone", "reason", "priority"}
    assert count(FollowUpRequest) == 0
    assert count(Customer) == 0


def test_create_with_non_text_values_is_422(api, tenant):
    response = api.post(LIST_URL, json=NEW_REQUEST | {"name": ["Ada"], "reason": 42})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"name", "reason"}


def test_create_with_unknown_fields_names_them(api, tenant):
    response = api.post(LIST_URL, json=NEW_REQUEST | {"colour": "blue", "status": "resolved"})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"colour", "status"}
    assert count(FollowUpRequest) == 0


NOT_A_JSON_OBJECT = [
    ("name=Ada&email=ada%40example.com", "application/x-www-form-urlencoded"),
    ('{"name": "Ada",', "application/json"),
    ('[{"name": "Ada"}]', "application/json"),
    ('"Ada"', "application/json"),
    ("null", "application/json"),
    ("", "application/json"),
    (b"\xff\xfe{", "application/json"),
]


@pytest.mark.parametrize("falsy", ["", 0, False, []])
def test_priority_follows_one_rule_on_create_and_update(api, tenant, make_followup, falsy):
    """Absent or null: normal on create, unchanged on update; any other value but
    normal or high (falsy ones too) is a 422 on both."""
    created = api.post(LIST_URL, json=NEW_REQUEST | {"priority": None})
    assert created.status_code == 201 and created.get_json()["priority"] == "normal"
    followup = make_followup(tenant, priority="high")
    kept = api.patch(url(followup.id), json={"priority": None, "notes": "called"})
    assert kept.status_code == 200 and kept.get_json()["priority"] == "high"
    before = count(FollowUpRequest)
    refused = api.post(LIST_URL, json=NEW_REQUEST | {"priority": falsy})
    assert refused.status_code == 422 and set(error_of(refused)["fields"]) == {"priority"}
    assert count(FollowUpRequest) == before
    refused = api.patch(url(followup.id), json={"priority": falsy})
    assert refused.status_code == 422 and set(error_of(refused)["fields"]) == {"priority"}
    assert fresh(followup.id).priority == "high"


def test_the_documents_text_limits_are_the_servers(api, anonymous, tenant):
    from openapi_schema_validator import OAS31Validator

    schemas = anonymous.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    new = schemas["NewFollowUp"]["properties"]
    limits = {
        name: (new[name].get("minLength"), new[name]["maxLength"])
        for name in new
        if name != "priority"
    }
    assert limits == {
        "name": (1, followup_limits.MAX_NAME),
        "email": (1, followup_limits.MAX_EMAIL),
        "phone": (None, followup_limits.MAX_PHONE),
        "reason": (1, followup_limits.MAX_REASON),
        "summary": (None, followup_limits.MAX_SUMMARY),
    }
    validator = OAS31Validator(schemas["NewFollowUp"])
    for refused in (
        {"name": ""},
        {"reason": "   "},
        {"name": "x" * (followup_limits.MAX_NAME + 1)},
        {"reason": " " + "x" * followup_limits.MAX_REASON},
        {"name": "a\x00b"},
    ):
        body = NEW_REQUEST | refused
        assert not validator.is_valid(body), refused
        assert api.post(LIST_URL, json=body).status_code in (400, 422), refused
    assert count(FollowUpRequest) == 0


@pytest.mark.parametrize(("data", "content_type"), NOT_A_JSON_OBJECT)
def test_create_without_a_json_object_is_400_bad_json(api, tenant, data, content_type):
    response = api.post(LIST_URL, data=data, content_type=content_type)
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_json"
    assert count(FollowUpRequest) == 0


def test_a_body_over_64_kib_is_413_and_creates_nothing(api, tenant):
    body = json.dumps(NEW_REQUEST | {"summary": "x" * (64 * 1024)})
    response = api.post(LIST_URL, data=body, content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_entity_too_large"
    assert count(FollowUpRequest) == 0


def test_html_in_a_reason_round_trips_as_json_data(api, tenant):
    reason = '<script>alert("hi")</script> & <b>bold</b>'
    created = api.post(LIST_URL, json=NEW_REQUEST | {"reason": reason})
    assert created.content_type == "application/json"
    fetched = api.get(url(created.get_json()["id"]))
    assert fetched.content_type == "application/json"
    assert fetched.get_json()["reason"] == reason


# --- reading and updating one request ---------------------------------------------------


def test_get_returns_the_request(api, tenant, make_followup):
    created = make_followup(tenant, phone="+44 20 7946 0958", summary="Short chat")
    response = api.get(url(created.id))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["id"], body["phone"], body["summary"]) == (
        created.id,
        "+442079460958",
        "Short chat",
    )


@pytest.mark.parametrize("followup_id", [999, 2**31, 10**30])
def test_unknown_ids_are_404(api, tenant, followup_id):
    assert api.get(url(followup_id)).status_code == 404
    assert api.patch(url(followup_id), json={"notes": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("path", "target", "stamp"),
    [
        ([], "contacted", "contacted_at"),
        ([], "cancelled", "cancelled_at"),
        ([Status.CONTACTED], "resolved", "resolved_at"),
        ([Status.CONTACTED], "cancelled", "cancelled_at"),
    ],
)
def test_allowed_transitions_stamp_the_time_and_record_history(
    api, tenant, make_followup, api_token, path, target, stamp
):
    followup = make_followup(tenant)
    move(tenant, followup, *path)
    with time_machine.travel(datetime(2026, 11, 21, 9, 40, tzinfo=UTC), tick=False):
        response = api.patch(url(followup.id), json={"status": target})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == target
    assert body[stamp] == "2026-11-21T09:40:00Z"
    stored = fresh(followup.id)
    assert stored.status == target
    assert len(stored.history) == len(path) + 1
    (change,) = (entry for entry in stored.history if entry.to_status == target)
    assert change.from_status == (path or ["pending"])[-1]
    assert change.changed_at == datetime(2026, 11, 21, 9, 40, tzinfo=UTC)
    assert change.actor_label == api_tokens.api_token_for(api_token).actor_label
    assert change.actor_label.startswith("API token fu_")


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], "resolved"),
        ([Status.CONTACTED], "pending"),
        ([Status.CONTACTED, Status.RESOLVED], "cancelled"),
        ([Status.CONTACTED, Status.RESOLVED], "pending"),
        ([Status.CANCELLED], "contacted"),
    ],
)
def test_forbidden_transitions_are_409_and_change_nothing(api, tenant, make_followup, path, target):
    followup = make_followup(tenant)
    move(tenant, followup, *path)
    legacy_notes(tenant, followup, "before")
    before = api.get(url(followup.id)).get_json()
    history_before = count(FollowUpStatusChange)

    response = api.patch(
        url(followup.id), json={"status": target, "notes": "after", "priority": "high"}
    )

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "transition_not_allowed"
    assert error["message"]
    assert api.get(url(followup.id)).get_json() == before
    stored = fresh(followup.id)
    assert (stored.notes, stored.priority) == ("before", "normal")
    assert count(FollowUpStatusChange) == history_before


def test_an_unknown_status_is_422(api, tenant, make_followup):
    followup = make_followup(tenant)
    response = api.patch(url(followup.id), json={"status": "done", "notes": "after"})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"status"}
    assert (fresh(followup.id).status, fresh(followup.id).notes) == ("pending", "")


def test_patch_notes_and_priority(api, tenant, make_followup):
    followup = make_followup(tenant)
    response = api.patch(
        url(followup.id), json={"notes": "  Called, no answer.  ", "priority": "high"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["notes"], body["priority"], body["status"]) == (
        "Called, no answer.",
        "high",
        "pending",
    )
    stored = fresh(followup.id)
    assert (stored.notes, stored.priority) == ("Called, no answer.", "high")
    assert stored.history == []
    # Staff read notes in the timeline: the legacy field's new text is a note there.
    notes = api.get(f"{url(followup.id)}/notes").get_json()["items"]
    assert [(n["text"], n["author"].startswith("API token")) for n in notes] == [
        ("Called, no answer.", True)
    ]


def test_patch_with_null_notes_clears_them(api, tenant, make_followup):
    followup = make_followup(tenant)
    legacy_notes(tenant, followup, "old")
    assert api.patch(url(followup.id), json={"notes": None}).get_json()["notes"] == ""


def test_patch_notes_with_the_version_read_saves_them_and_counts_one(api, tenant, make_followup):
    followup = make_followup(tenant)
    read = api.get(url(followup.id)).get_json()
    assert read["notes_version"] == 0
    body = api.patch(url(followup.id), json={"notes": "Called.", "notes_version": 0}).get_json()
    assert (body["notes"], body["notes_version"]) == ("Called.", 1)


def test_patch_notes_with_an_older_version_is_409_and_changes_nothing(api, tenant, make_followup):
    followup = make_followup(tenant)
    legacy_notes(tenant, followup, "A colleague's notes")
    before = api.get(url(followup.id)).get_json()
    response = api.patch(
        url(followup.id),
        json={"notes": "mine", "notes_version": 0, "status": "contacted", "priority": "high"},
    )
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "notes_conflict"
    assert error["message"] == "Someone else changed these notes since you read them."
    assert api.get(url(followup.id)).get_json() == before
    assert count(FollowUpStatusChange) == 0


def test_patch_notes_without_a_version_saves_over_any(api, tenant, make_followup):
    followup = make_followup(tenant)
    legacy_notes(tenant, followup, "A colleague's notes")
    body = api.patch(url(followup.id), json={"notes": "mine"}).get_json()
    assert (body["notes"], body["notes_version"]) == ("mine", 2)


@pytest.mark.parametrize("bad", [-1, 1.5, "one", True, None, 2**31])
def test_patch_with_a_bad_notes_version_is_422(api, tenant, make_followup, bad):
    followup = make_followup(tenant)
    response = api.patch(url(followup.id), json={"notes": "mine", "notes_version": bad})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"notes_version"}
    assert fresh(followup.id).notes == ""


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"priority": "urgent"}, {"priority"}),
        ({"notes": 42}, {"notes"}),
        ({"notes": "x" * (followup_limits.MAX_NOTES + 1)}, {"notes"}),
        ({"email": "new@example.com"}, {"email"}),
        ({"status": None}, {"status"}),
    ],
)
def test_patch_with_bad_fields_is_422_and_changes_nothing(
    api, tenant, make_followup, changes, fields
):
    followup = make_followup(tenant)
    response = api.patch(url(followup.id), json=changes | {"notes": changes.get("notes", "new")})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == fields
    stored = fresh(followup.id)
    assert (stored.notes, stored.priority, stored.email) == ("", "normal", followup.email)


@pytest.mark.parametrize(("data", "content_type"), NOT_A_JSON_OBJECT)
def test_patch_without_a_json_object_is_400(api, tenant, make_followup, data, content_type):
    followup = make_followup(tenant)
    response = api.patch(url(followup.id), data=data, content_type=content_type)
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_json"


# --- tenant isolation -------------------------------------------------------------------


def test_another_tenants_request_does_not_exist_for_the_token(
    api, tenant, other_tenant, make_followup
):
    theirs = make_followup(other_tenant, name="Globex Customer")
    ours = make_followup(tenant)

    assert error_of(api.get(url(theirs.id)))["code"] == "not_found"
    assert api.get(url(theirs.id)).status_code == 404
    response = api.patch(url(theirs.id), json={"status": "contacted", "notes": "mine now"})
    assert response.status_code == 404

    stored = fresh(theirs.id)
    assert (stored.status, stored.notes, stored.contacted_at) == ("pending", "", None)
    assert stored.history == []
    assert [item["id"] for item in api.get(LIST_URL).get_json()["items"]] == [ours.id]
    assert api.get(LIST_URL, query_string={"q": "globex"}).get_json()["total"] == 0


def test_each_tenants_token_sees_its_own_requests(
    api, anonymous, tenant, other_tenant, make_followup
):
    theirs = make_followup(other_tenant)
    their_token = api_tokens.create_api_token(other_tenant.slug, "globex")
    body = anonymous.get(LIST_URL, headers=bearer(their_token)).get_json()
    assert [item["id"] for item in body["items"]] == [theirs.id]
    assert api.get(LIST_URL).get_json()["total"] == 0


# --- overdue ----------------------------------------------------------------------------


def _made_hours_ago(make_followup, tenant, hours: float) -> FollowUpRequest:
    with time_machine.travel(utcnow() - timedelta(hours=hours), tick=False):
        return make_followup(tenant)


def test_a_pending_request_older_than_the_response_time_is_overdue(api, tenant, make_followup):
    assert tenant.response_time_hours == 24
    late = _made_hours_ago(make_followup, tenant, 25)
    on_time = _made_hours_ago(make_followup, tenant, 23)

    assert api.get(url(late.id)).get_json()["overdue"] is True
    assert api.get(url(on_time.id)).get_json()["overdue"] is False
    listed = {item["id"]: item["overdue"] for item in api.get(LIST_URL).get_json()["items"]}
    assert listed == {late.id: True, on_time.id: False}

    contacted = api.patch(url(late.id), json={"status": "contacted"})
    assert contacted.get_json()["overdue"] is False
    assert api.get(url(late.id)).get_json()["overdue"] is False


def test_a_request_keeps_the_response_time_promised_when_it_was_made(api, tenant, make_followup):
    followup = _made_hours_ago(make_followup, tenant, 3)
    tenant.response_time_hours = 2
    db.session.commit()
    body = api.get(url(followup.id)).get_json()
    assert (body["response_time_hours"], body["overdue"]) == (24, False)
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["due_at"]) == created + timedelta(hours=24)
    newer = _made_hours_ago(make_followup, tenant, 3)
    body = api.get(url(newer.id)).get_json()
    assert (body["response_time_hours"], body["overdue"]) == (2, True)


def test_at_the_due_instant_the_request_and_the_filter_agree_it_is_overdue(
    api, tenant, make_followup
):
    made = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    with time_machine.travel(made, tick=False) as traveller:
        followup = make_followup(tenant)
        traveller.move_to(made + timedelta(hours=24))
        assert api.get(url(followup.id)).get_json()["overdue"] is True
        listed = api.get(f"{LIST_URL}?overdue=1").get_json()["items"]
        assert [item["id"] for item in listed] == [followup.id]


def test_overdue_follows_the_clock(api, tenant, make_followup):
    with time_machine.travel(datetime(2026, 11, 21, 9, 0, tzinfo=UTC), tick=False) as traveller:
        followup = make_followup(tenant)
        assert api.get(url(followup.id)).get_json()["overdue"] is False
        traveller.shift(timedelta(hours=24, minutes=1))
        assert api.get(url(followup.id)).get_json()["overdue"] is True


# --- rate limit -------------------------------------------------------------------------


def test_requests_over_the_rate_limit_get_429_per_token(app, api, anonymous, tenant):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    assert [api.get(LIST_URL).status_code for _ in range(3)] == [200, 200, 429]
    assert error_of(api.get(LIST_URL))["code"] == "too_many_requests"

    # Another token has its own budget.
    second = api_tokens.create_api_token(tenant.slug, "second")
    assert anonymous.get(LIST_URL, headers=bearer(second)).status_code == 200

    # Made-up tokens share the caller's address budget instead of each getting one.
    statuses = [
        anonymous.get(LIST_URL, headers=bearer(f"fu_guess{n}")).status_code for n in range(3)
    ]
    assert statuses == [401, 401, 429]


# --- OpenAPI ----------------------------------------------------------------------------


def test_openapi_document_is_public_and_a_valid_openapi_31_document(anonymous, app):
    from openapi_spec_validator import validate

    response = anonymous.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    document = response.get_json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert {"/followups", "/followups/{id}"} <= set(document["paths"])
    assert set(document["paths"]["/followups"]) == {"get", "post"}
    assert set(document["paths"]["/followups/{id}"]) >= {"get", "patch"}
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert {"FollowUp", "FollowUpList", "NewFollowUp", "FollowUpPatch", "Error"} <= set(
        document["components"]["schemas"]
    )
    statuses = {
        status
        for path in document["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict)
        for status in operation.get("responses", {})
    }
    assert {"200", "201", "401", "404", "409", "413", "422"} <= statuses


def test_openapi_schemas_describe_the_real_responses(api, anonymous, tenant, make_followup):
    from openapi_schema_validator import OAS31Validator

    schemas = anonymous.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    created = api.post(LIST_URL, json=NEW_REQUEST).get_json()
    contacted = api.patch(url(created["id"]), json={"status": "contacted"}).get_json()
    OAS31Validator(schemas["NewFollowUp"]).validate(NEW_REQUEST)
    OAS31Validator(schemas["FollowUp"]).validate(created)
    OAS31Validator(schemas["FollowUp"]).validate(contacted)
    assert set(schemas["FollowUp"]["required"]) == FOLLOWUP_KEYS
    OAS31Validator(schemas["Error"]).validate(api.get(url(999)).get_json())
    OAS31Validator(schemas["Error"]).validate(anonymous.get(LIST_URL).get_json())
