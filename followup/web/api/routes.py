"""The REST API's routes: parse the input, call one service, serialise the result."""

from collections.abc import Callable
from functools import partial

from flask import current_app, request, url_for

from followup import clock
from followup.errors import ValidationFailed
from followup.models import FollowUpRequest, Source
from followup.services import activity, followups, idempotency, reports
from followup.services.validation import UNKNOWN_FIELD
from followup.web.api import bp
from followup.web.api.auth import request_token
from followup.web.api.inputs import parse_list_query
from followup.web.api.openapi import OPENAPI_DOCUMENT
from followup.web.api.serialize import followup_json, note_json, report_json
from followup.web.requests import json_object

FOLLOWUP_URL = "/followups/<int:followup_id>"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _serializer() -> Callable[[FollowUpRequest], dict]:
    """Serialise with one "now" for the whole response."""
    return partial(followup_json, now=clock.utcnow())


@bp.get("/followups")
def list_followups() -> dict:
    query = parse_list_query(request.args, default_per_page=current_app.config["API_PAGE_SIZE"])
    as_json = _serializer()
    items, total = followups.numbered_page(
        request_token().tenant_id, query.filters, query.page, query.per_page
    )
    return {
        "items": [as_json(item) for item in items],
        "total": total,
        "page": query.page,
        "per_page": query.per_page,
    }


def _create(body: dict, keep: Callable[[idempotency.Answer], None]) -> idempotency.Answer:
    """Create the request; the answer is built before the commit, from the values in
    hand: after the commit nothing reads the database, so nothing can fail the answer
    of a request that was saved."""
    token = request_token()
    as_json = _serializer()
    answers: list[idempotency.Answer] = []

    def answer(created: FollowUpRequest) -> None:
        location = url_for("api.get_followup", followup_id=created.id)
        answers.append(idempotency.Answer(201, as_json(created), {"Location": location}))
        keep(answers[0])

    followups.create_followup(token.tenant_id, body, source=Source.API, before_commit=answer)
    return answers[0]


@bp.post("/followups")
def create_followup() -> tuple[dict, int, dict[str, str]]:
    body = json_object()
    key = idempotency.checked_key(request.headers.get(IDEMPOTENCY_HEADER))
    if key is None:
        done = _create(body, keep=lambda _answer: None)
    else:
        token = request_token()
        scope = f"api-token:{token.id}"
        done = idempotency.once(token.tenant_id, scope, key, body, partial(_create, body))
    return done.body, done.status, done.headers


@bp.get(FOLLOWUP_URL)
def get_followup(followup_id: int) -> dict:
    as_json = _serializer()
    return as_json(followups.get_followup(request_token().tenant_id, followup_id))


@bp.patch(FOLLOWUP_URL)
def update_followup(followup_id: int) -> dict:
    changes = json_object()
    token = request_token()
    actor = followups.Actor(token.actor_label)
    as_json = _serializer()
    return as_json(followups.update_followup(token.tenant_id, followup_id, changes, actor))


@bp.get(f"{FOLLOWUP_URL}/notes")
def list_notes(followup_id: int) -> dict:
    """The request's staff notes (not deleted), newest first."""
    tenant_id = request_token().tenant_id
    followup = followups.get_followup(tenant_id, followup_id)
    return {"items": [note_json(note) for note in activity.notes_of(tenant_id, followup.id)]}


@bp.post(f"{FOLLOWUP_URL}/notes")
def add_note(followup_id: int) -> tuple[dict, int, dict[str, str]]:
    """A note on the request's timeline, written by the token (its label as the author)."""
    body = json_object()
    token = request_token()
    followup = followups.get_followup(token.tenant_id, followup_id)
    unknown = sorted(set(body) - {"text"})
    if unknown:
        raise ValidationFailed({name: UNKNOWN_FIELD for name in unknown})
    note = activity.add_note(followup, body.get("text"), followups.Actor(token.actor_label))
    location = url_for("api.list_notes", followup_id=followup_id)
    return note_json(note), 201, {"Location": location}


@bp.get("/openapi.json")
def openapi_document() -> dict:
    return OPENAPI_DOCUMENT


@bp.get("/reports/summary")
def report_summary() -> dict:
    """The reports' figures for the last `days`, or the local days `from` to `to`
    (default: the last 30), as the page takes them."""
    report = reports.requested_report(
        request_token().tenant_id,
        days=request.args.get("days"),
        date_from=request.args.get("from") or None,
        date_to=request.args.get("to") or None,
        agent=request.args.get("agent"),
    )
    return report_json(report)
