"""Reading what API clients send: the JSON body and the list's query parameters."""

from collections.abc import Mapping
from dataclasses import dataclass

from followup.errors import ValidationFailed
from followup.services import followups
from followup.services.validation import FieldErrors, problem, whole_number

MAX_PER_PAGE = 100
# Keeps OFFSET (page * per_page) far inside PostgreSQL's bigint.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class ListQuery:
    filters: followups.Filters
    page: int
    per_page: int


def _page_number(raw: str | None, field: str, label: str, *, default: int, maximum: int) -> int:
    if raw in (None, ""):
        return default
    number = whole_number(raw, maximum)
    if not number:
        advice = f"use a whole number from 1 to {maximum:,}."
        raise ValidationFailed({field: problem(label, advice)})
    return number


def _no_mine(assignee: str | None) -> None:
    """A token is nobody's: "mine" has no meaning in the API (use `assignee_id`)."""
    if assignee == followups.AssigneeFilter.MINE:
        raise ValidationFailed(
            {"assignee": problem("Assignee", "use unassigned, or assignee_id for a member.")}
        )


def parse_list_query(args: Mapping[str, str], default_per_page: int) -> ListQuery:
    """`status`, `q`, `priority`, `source`, `assignee`, `assignee_id`, `overdue`, `page`,
    `per_page`; every bad one is named in a single 422."""
    errors = FieldErrors()
    errors.check(_no_mine, args.get("assignee"))
    filters = errors.check(
        followups.Filters.parse,
        args.get("q"),
        args.get("status"),
        priority=args.get("priority"),
        source=args.get("source"),
        assignee=args.get("assignee"),
        assignee_id=args.get("assignee_id"),
        overdue=args.get("overdue"),
    )
    page = errors.check(_page_number, args.get("page"), "page", "Page", default=1, maximum=MAX_PAGE)
    per_page = errors.check(
        _page_number,
        args.get("per_page"),
        "per_page",
        "Per page",
        default=default_per_page,
        maximum=MAX_PER_PAGE,
    )
    errors.raise_if_any()
    return ListQuery(filters, page, per_page)
