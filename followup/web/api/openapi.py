"""The OpenAPI 3.1 description of the REST API, served at /api/v1/openapi.json.

Written by hand to read well; enums and limits come from the code they describe,
and the tests check the document against the spec and the real responses.
"""

from followup.config import Config
from followup.models import SCORES, Priority, Source, Status
from followup.services import followup_limits, followups, idempotency, workflow
from followup.services.queries import MAX_ID
from followup.services.reports import LAST_DAYS
from followup.services.validation import MAX_SEARCH_CHARS, REFUSED_CHARACTERS_CLASS
from followup.web.api.auth import MAX_BODY_BYTES
from followup.web.api.inputs import MAX_PAGE, MAX_PER_PAGE
from followup.web.requests import MAX_JSON_DEPTH, MAX_URL_BYTES


def _values(enum) -> list[str]:
    return [member.value for member in enum]


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _transitions() -> str:
    moves = "; ".join(
        f"{current.value} → {' | '.join(s.value for s in allowed) or '(final)'}"
        for current, allowed in workflow.ALLOWED_TRANSITIONS.items()
    )
    return f"Allowed moves: {moves}. Any other move is refused with 409 and changes nothing."


NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
# A report's parameter may be empty: as if not given, as a form sends it.
_EMPTY = {"type": "string", "maxLength": 0}
_DAY_OR_EMPTY = {"anyOf": [{"type": "string", "format": "date"}, _EMPTY]}
# The text every field accepts (web/requests.py refuses the rest with 400 bad_characters);
# a required field needs something besides white space (the server strips it).
_ALLOWED = f"[^{REFUSED_CHARACTERS_CLASS}]"
ANY_TEXT = f"^{_ALLOWED}*$"
_ALLOWED_SPACE = r"[^\S\x0b\x0c\x1c-\x1f]"  # white space that is not a control character
SOME_TEXT = rf"^{_ALLOWED_SPACE}*[^\s{REFUSED_CHARACTERS_CLASS}]{_ALLOWED}*$"


def _text(max_length: int, *, required: bool, nullable: bool = False, **more) -> dict:
    """A text field with the server's own limits: its length as sent, its characters."""
    schema = {
        "type": ["string", "null"] if nullable else "string",
        "maxLength": max_length,
        "pattern": SOME_TEXT if required else ANY_TEXT,
    }
    if required:
        schema["minLength"] = 1
    return schema | more


# The one notes field of a request before its timeline (issue 14): kept for older clients.
LEGACY_NOTES = "Deprecated: use the timeline's notes at `/followups/{id}/notes`."

FOLLOW_UP = {
    "type": "object",
    "required": [
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
        "assignee_id",
        "created_at",
        "contacted_at",
        "resolved_at",
        "cancelled_at",
        "response_time_hours",
        "due_at",
        "overdue",
    ],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "email": {"type": "string", "format": "email"},
        "phone": {"type": ["string", "null"], "description": "E.164, e.g. +14155550100."},
        "reason": {"type": "string"},
        "summary": {"type": ["string", "null"]},
        "priority": {"enum": _values(Priority)},
        "status": {"enum": _values(Status)},
        "source": {"enum": _values(Source)},
        "notes": {
            "type": "string",
            "deprecated": True,
            "description": f"{LEGACY_NOTES} The staff notes of the one box the timeline "
            "replaced; the admin pages no longer show or change them.",
        },
        "notes_version": {
            "type": "integer",
            "minimum": 0,
            "deprecated": True,
            "description": f"{LEGACY_NOTES} Counts the saves that changed `notes`; send it "
            "back with new notes (PATCH) so newer ones are not overwritten.",
        },
        "chat_id": {"type": ["integer", "null"], "description": "The chat it came from."},
        "assignee_id": {
            "type": ["integer", "null"],
            "description": "The staff member working the request; null: unassigned.",
        },
        "created_at": {"type": "string", "format": "date-time"},
        "contacted_at": NULLABLE_TIME,
        "resolved_at": NULLABLE_TIME,
        "cancelled_at": NULLABLE_TIME,
        "response_time_hours": {
            "type": "integer",
            "description": "The response time promised when the request was made; a later "
            "change of the setting does not change it.",
        },
        "due_at": {
            "type": "string",
            "format": "date-time",
            "description": "When the promised response time runs out: created_at plus "
            "response_time_hours.",
        },
        "overdue": {
            "type": "boolean",
            "description": "Pending past its due_at.",
        },
    },
    "description": "Times are ISO 8601 in UTC with a trailing Z, e.g. 2026-11-21T09:40:00Z.",
}

FOLLOW_UP_LIST = {
    "type": "object",
    "required": ["items", "total", "page", "per_page"],
    "properties": {
        "items": {"type": "array", "items": _ref("schemas", "FollowUp")},
        "total": {"type": "integer", "description": "Matching requests on all pages."},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
    },
}

NEW_FOLLOW_UP = {
    "type": "object",
    "required": ["name", "email", "reason"],
    "additionalProperties": False,
    "properties": {
        "name": _text(followup_limits.MAX_NAME, required=True),
        "email": _text(
            followup_limits.MAX_EMAIL,
            required=True,
            format="email",
            description="Addresses at special-use domains (.test, .local, .invalid …) are refused.",
        ),
        "phone": _text(
            followup_limits.MAX_PHONE,
            required=False,
            nullable=True,
            format="phone",
            description="With its country code, e.g. +1 415 555 0100; stored as E.164.",
        ),
        "reason": _text(followup_limits.MAX_REASON, required=True),
        "summary": _text(followup_limits.MAX_SUMMARY, required=False, nullable=True),
        "priority": {
            "enum": [*_values(Priority), None],
            "default": Priority.NORMAL.value,
            "description": "Absent or null: normal.",
        },
    },
}

FOLLOW_UP_PATCH = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "status": {"enum": _values(Status), "description": _transitions()},
        "notes": _text(
            followup_limits.MAX_NOTES,
            required=False,
            nullable=True,
            deprecated=True,
            description=f"{LEGACY_NOTES} Replaces the legacy notes; a new note for the team "
            "is a POST to `/followups/{id}/notes`.",
        ),
        "notes_version": {
            "type": "integer",
            "minimum": 0,
            "maximum": followup_limits.MAX_NOTES_VERSION,
            "deprecated": True,
            "description": f"{LEGACY_NOTES} Optional, with `notes`: the `notes_version` you "
            "read. When the notes were changed since, they are not overwritten: 409 with the "
            "code `notes_conflict`, and nothing changes. Without it, the last save wins.",
        },
        "priority": {"enum": [*_values(Priority), None], "description": "Null: unchanged."},
        "assignee_id": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": MAX_ID,
            "description": "The id of an active staff member of your team, or null: "
            "unassigned. Anyone else is refused (422).",
        },
    },
    "description": "Only the fields sent change; everything is checked before anything changes.",
}

NOTE = {
    "type": "object",
    "required": ["id", "text", "author", "staff_user_id", "version", "created_at", "edited_at"],
    "properties": {
        "id": {"type": "integer"},
        "text": {"type": "string", "description": "Plain text, as written."},
        "author": {"type": "string", "description": "The staff member's name or the token."},
        "staff_user_id": {"type": ["integer", "null"], "description": "Null: not a member."},
        "version": {"type": "integer", "minimum": 0, "description": "Counts its edits."},
        "created_at": {"type": "string", "format": "date-time"},
        "edited_at": NULLABLE_TIME,
    },
}

NOTE_LIST = {
    "type": "object",
    "required": ["items"],
    "properties": {"items": {"type": "array", "items": _ref("schemas", "Note")}},
    "description": "Newest first; deleted notes are left out.",
}

NEW_NOTE = {
    "type": "object",
    "required": ["text"],
    "additionalProperties": False,
    "properties": {"text": _text(followup_limits.MAX_NOTES, required=True)},
}

_COUNT = {"type": "integer", "minimum": 0}
_SHARE = {"type": ["number", "null"], "minimum": 0, "description": "Null: nothing to divide by."}
_COST = {
    "type": ["string", "null"],
    "description": "Dollars as a decimal string; null: no price set in Settings for the model.",
}


def _object(**properties) -> dict:
    return {"type": "object", "required": list(properties), "properties": properties}


def _rows(**properties) -> dict:
    return {"type": "array", "items": _object(**properties)}


REPORT = _object(
    period=_object(
        **{
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "time_zone": {"type": "string", "description": "The tenant's: days are its days."},
        }
    ),
    agent_id={"type": ["integer", "null"]},
    as_of={
        "type": ["string", "null"],
        "format": "date-time",
        "description": "How fresh the figures are: the daily counts are kept by the workers "
        "(the latest days every REPORT_REFRESH_INTERVAL_S) and by the first report of a day.",
    },
    followups=_object(
        total=_COUNT,
        per_day=_rows(
            date={"type": "string", "format": "date"},
            chat=_COUNT,
            voice=_COUNT,
            sms=_COUNT,
            api=_COUNT,
        ),
        promise_hours={"type": "integer"},
        contacted=_COUNT,
        decided={**_COUNT, "description": "Contacted, or pending past their due time."},
        within_promise=_COUNT,
        within_promise_share=_SHARE,
        time_to_contact=_rows(
            from_hours=_COUNT, to_hours={"type": ["integer", "null"]}, count=_COUNT
        ),
        per_week=_rows(
            week_start={"type": "string", "format": "date"},
            decided=_COUNT,
            within_promise=_COUNT,
        ),
        backlog=_object(on_time=_COUNT, at_risk=_COUNT, overdue=_COUNT),
    ),
    assignees=_rows(
        assignee_id={"type": ["integer", "null"], "description": "Null: unassigned."},
        name={"type": "string"},
        requests=_COUNT,
        handled=_COUNT,
        median_contact_seconds={
            "type": ["number", "null"],
            "description": "To 6 minutes (an hour past 72 hours): counted in buckets.",
        },
        decided=_COUNT,
        within_promise=_COUNT,
    ),
    auto_followup=_object(
        chats={**_COUNT, "description": "Chats that got their first reminder in the period."},
        sent=_COUNT,
        replied_within_24h=_COUNT,
        exhausted=_COUNT,
        opted_out=_COUNT,
        steps=_rows(
            step_id={"type": "integer"},
            agent={"type": "string"},
            position={"type": "integer"},
            sent=_COUNT,
            replied_within_24h=_COUNT,
        ),
        employees=_rows(
            agent_id={"type": "integer"},
            name={"type": "string"},
            chats=_COUNT,
            sent=_COUNT,
            replied_within_24h=_COUNT,
            exhausted=_COUNT,
            opted_out=_COUNT,
        ),
    ),
    ai=_object(
        conversations=_COUNT,
        customer_messages=_COUNT,
        handoffs=_COUNT,
        handoff_share=_SHARE,
        model_failures=_COUNT,
        employees=_rows(
            agent_id={"type": "integer"},
            name={"type": "string"},
            conversations=_COUNT,
            customer_messages=_COUNT,
            handoffs=_COUNT,
            model_failures=_COUNT,
            input_tokens=_COUNT,
            output_tokens=_COUNT,
        ),
        tokens_per_day=_rows(
            date={"type": "string", "format": "date"},
            agent_id={"type": "integer"},
            input_tokens=_COUNT,
            output_tokens=_COUNT,
        ),
        models=_rows(
            model={"type": "string"},
            input_tokens=_COUNT,
            output_tokens=_COUNT,
            estimated_cost=_COST,
        ),
        estimated_cost=_COST,
    ),
    satisfaction=_object(
        count={**_COUNT, "description": "Ratings given in the period."},
        average={"type": ["number", "null"], "description": "Null: no rating."},
        distribution=_object(**{str(score): _COUNT for score in SCORES}),
        comments=_rows(
            followup_id={"type": "integer"},
            score={"type": "integer", "minimum": SCORES[0], "maximum": SCORES[-1]},
            comment={"type": "string", "description": "As the customer wrote it: escape it."},
            created_at={"type": "string", "format": "date-time"},
        ),
    ),
)


ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "examples": ["validation_failed"]},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "The message for each bad field, by field name.",
                },
            },
        }
    },
}


def _error(description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": _json(_ref("schemas", "Error"))}
    if headers:
        response["headers"] = headers
    return response


ERROR_RESPONSES = {
    "BadRequest": _error(
        "The body is not a JSON object, not valid JSON or nests more than "
        f"{MAX_JSON_DEPTH} levels deep (code `bad_json`); or a text in the address or the "
        "body holds characters the API refuses (code `bad_characters`): control characters "
        "other than tab, line feed and carriage return, or lone surrogates."
    ),
    "KeyInProgress": _error(
        "A request with this Idempotency-Key is in progress (code "
        "`idempotency_key_in_progress`); try again in a moment."
    ),
    "UriTooLong": _error(f"The address is longer than {MAX_URL_BYTES} bytes."),
    "Unauthorized": _error(
        "The bearer token is missing, unknown or revoked.",
        {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer challenge."}},
    ),
    "NotFound": _error("No such follow-up request for this token's tenant."),
    "Conflict": _error(
        "The workflow forbids this status change (code `transition_not_allowed`), or the "
        "notes changed since the `notes_version` sent (code `notes_conflict`); nothing changed."
    ),
    "AgentNotFound": _error("No such AI employee for this token's tenant."),
    "TooLarge": _error(f"The body is larger than {MAX_BODY_BYTES} bytes."),
    "ValidationFailed": _error("Some fields are not valid; `fields` names each one."),
    "RateLimited": _error(f"Too many requests for this token (default {Config.API_RATE_LIMIT})."),
}


def _responses(success: dict, *errors: tuple[str, str]) -> dict:
    every = {**success, "400": _ref("responses", "BadRequest")}
    every |= {"401": _ref("responses", "Unauthorized"), "414": _ref("responses", "UriTooLong")}
    every |= {status: _ref("responses", name) for status, name in errors}
    every["429"] = _ref("responses", "RateLimited")
    return every


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": idempotency.MAX_KEY_CHARS,
        "pattern": "^[\\x20-\\x7e]+$",
    },
    "description": "Any unique string of yours (a UUID): sent again with the same body "
    f"within {idempotency.KEY_TTL.total_seconds() / 3600:.0f} hours, by the same token, "
    "the request is not carried out again and gets the first answer (status and body); "
    "with another body it is refused (422 `idempotency_key_reused`). While the first "
    "request with the key is being carried out, a second one waits for its answer.",
}

ONE_FOLLOW_UP = {
    "description": "The follow-up request.",
    "content": _json(_ref("schemas", "FollowUp")),
}

PATHS = {
    "/followups": {
        "get": {
            "operationId": "listFollowUps",
            "summary": "List follow-up requests, newest first.",
            "parameters": [
                _query(
                    "status",
                    {"enum": ["", "all", *_values(Status)]},
                    "Only requests in this status; empty or `all` for every status.",
                ),
                _query(
                    "q",
                    _text(MAX_SEARCH_CHARS, required=False),
                    "Text found in the name, email or reason (case-insensitive, literal).",
                ),
                _query(
                    "priority",
                    {"enum": ["", *_values(Priority)]},
                    "Only requests of this priority; empty for every priority.",
                ),
                _query(
                    "source",
                    {"enum": ["", *_values(Source)]},
                    "Only requests that came this way; empty for every source.",
                ),
                _query(
                    "assignee",
                    {"enum": ["", followups.AssigneeFilter.UNASSIGNED.value]},
                    "`unassigned`: only requests nobody is assigned to.",
                ),
                _query(
                    "assignee_id",
                    {
                        "anyOf": [
                            {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                            {"enum": [""]},
                        ]
                    },
                    "Only requests assigned to this staff member; empty for anyone's.",
                ),
                _query(
                    "overdue",
                    {"enum": ["", "0", "1", "false", "true"]},
                    "`1` or `true`: only pending requests past their `due_at`.",
                ),
                _query(
                    "page",
                    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                    "Page number.",
                ),
                _query(
                    "per_page",
                    {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                    "Page size; the server's default when absent.",
                ),
            ],
            "responses": _responses(
                {
                    "200": {
                        "description": "One page.",
                        "content": _json(_ref("schemas", "FollowUpList")),
                    }
                },
                ("422", "ValidationFailed"),
            ),
        },
        "post": {
            "operationId": "createFollowUp",
            "summary": "Create a follow-up request (source `api`, status `pending`).",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": _json(_ref("schemas", "NewFollowUp"))},
            "responses": _responses(
                {
                    "201": {
                        **ONE_FOLLOW_UP,
                        "headers": {
                            "Location": {
                                "schema": {"type": "string"},
                                "description": "The new request's URL.",
                            }
                        },
                    }
                },
                ("409", "KeyInProgress"),
                ("413", "TooLarge"),
                ("422", "ValidationFailed"),
            ),
        },
    },
    "/followups/{id}": {
        "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
        ],
        "get": {
            "operationId": "getFollowUp",
            "summary": "One follow-up request.",
            "responses": _responses({"200": ONE_FOLLOW_UP}, ("404", "NotFound")),
        },
        "patch": {
            "operationId": "updateFollowUp",
            "summary": "Change the status, the priority or the assignee (or the legacy notes).",
            "requestBody": {"required": True, "content": _json(_ref("schemas", "FollowUpPatch"))},
            "responses": _responses(
                {"200": ONE_FOLLOW_UP},
                ("404", "NotFound"),
                ("409", "Conflict"),
                ("413", "TooLarge"),
                ("422", "ValidationFailed"),
            ),
        },
    },
    "/followups/{id}/notes": {
        "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
        ],
        "get": {
            "operationId": "listFollowUpNotes",
            "summary": "The notes of a request's timeline, newest first.",
            "responses": _responses(
                {
                    "200": {
                        "description": "The notes.",
                        "content": _json(_ref("schemas", "Notes")),
                    }
                },
                ("404", "NotFound"),
            ),
        },
        "post": {
            "operationId": "addFollowUpNote",
            "summary": "Add a note to a request's timeline; the token is its author.",
            "requestBody": {"required": True, "content": _json(_ref("schemas", "NewNote"))},
            "responses": _responses(
                {
                    "201": {
                        "description": "The note.",
                        "content": _json(_ref("schemas", "Note")),
                        "headers": {
                            "Location": {
                                "schema": {"type": "string"},
                                "description": "The request's notes.",
                            }
                        },
                    }
                },
                ("404", "NotFound"),
                ("413", "TooLarge"),
                ("422", "ValidationFailed"),
            ),
        },
    },
    "/reports/summary": {
        "get": {
            "operationId": "getReportSummary",
            "summary": "The reports' figures: follow-ups, auto follow-up and AI use.",
            "description": "Days are the tenant's local days: the last `days`, or `from` "
            "and `to` (both or neither, at most 366 days; they win over `days`); "
            "neither: the last 30 days.",
            "parameters": [
                _query(
                    "days",
                    {"anyOf": [{"type": "integer", "enum": list(LAST_DAYS)}, _EMPTY]},
                    "The last 7, 30 or 90 local days up to today (empty: not given).",
                ),
                _query("from", _DAY_OR_EMPTY, "First day, YYYY-MM-DD (empty: not given)."),
                _query("to", _DAY_OR_EMPTY, "Last day, included (empty: not given)."),
                _query(
                    "agent",
                    {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                    "Only this AI employee's chats and what came of them.",
                ),
            ],
            "responses": _responses(
                {
                    "200": {
                        "description": "The figures.",
                        "content": _json(_ref("schemas", "Report")),
                    }
                },
                ("404", "AgentNotFound"),
                ("422", "ValidationFailed"),
            ),
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "getOpenApiDocument",
            "summary": "This document.",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document.",
                    "content": _json({"type": "object"}),
                }
            },
        }
    },
}

OPENAPI_DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Followup REST API",
        "version": "1",
        "description": (
            "Follow-up requests of the tenant that owns the bearer token. "
            "Create a token with `flask --app app token create --tenant SLUG`. "
            "Requests of other tenants do not exist for a token (404)."
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearerAuth": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "FollowUp": FOLLOW_UP,
            "FollowUpList": FOLLOW_UP_LIST,
            "NewFollowUp": NEW_FOLLOW_UP,
            "FollowUpPatch": FOLLOW_UP_PATCH,
            "Report": REPORT,
            "Note": NOTE,
            "Notes": NOTE_LIST,
            "NewNote": NEW_NOTE,
            "Error": ERROR,
        },
        "responses": ERROR_RESPONSES,
    },
}
