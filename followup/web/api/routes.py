"""The REST API's routes: parse the input, call one service, serialise the result."""

from collections.abc import Callable
from functools import partial

from flask import current_app, request, url_for

from followup import clock
from followup.models import FollowUpRequest, Source
from followup.services import followups
from followup.web.api import bp
from followup.web.api.auth import request_token
from followup.web.api.inputs import parse_list_query
from followup.web.api.openapi import OPENAPI_DOCUMENT
from followup.web.api.serialize import followup_json
from followup.web.requests import json_object

FOLLOWUP_URL = "/followups/<int:followup_id>"


def _serializer() -> Callable[[FollowUpRequest], dict]:
    """Serialise with one tenant setting and one "now" for the whole response.

    Read before the service commits, which would expire the token and its tenant.
    """
    hours = request_token().tenant.response_time_hours
    return partial(followup_json, response_time_hours=hours, now=clock.utcnow())


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


@bp.post("/followups")
def create_followup() -> tuple[dict, int, dict[str, str]]:
    body = json_object()
    as_json = _serializer()
    created = followups.create_followup(request_token().tenant_id, body, source=Source.API)
    location = url_for("api.get_followup", followup_id=created.id)
    return as_json(created), 201, {"Location": location}


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


@bp.get("/openapi.json")
def openapi_document() -> dict:
    return OPENAPI_DOCUMENT
