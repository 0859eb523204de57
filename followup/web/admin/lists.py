"""What the admin lists share: links that keep a list's filters."""

from collections.abc import Callable

from flask import request, url_for
from flask_login import current_user

from followup.clock import utcnow
from followup.services import followups
from followup.services.queries import MAX_ID


def followup_filters() -> followups.Filters:
    """The Follow-Ups filters in the URL (the list and its CSV export read the same)."""
    args = request.args
    return followups.Filters.parse(
        args.get("q"),
        args.get("status"),
        assignee=args.get("assignee"),
        overdue=args.get("overdue"),
        priority=args.get("priority"),
        source=args.get("source"),
    )


def followup_viewer() -> followups.Viewer:
    """Who reads the list: "Mine" and "Overdue" depend on them."""
    return followups.Viewer(current_user.id, utcnow())


def filter_args(**filters) -> dict:
    """A list's filters as URL query arguments (those set), so its links keep them."""
    return {name: str(value) for name, value in filters.items() if value}


def detail_url_maker(endpoint: str, id_name: str, filters: dict) -> Callable[[int], str]:
    """The detail URL of each card of a page, keeping the filters.

    `url_for` costs more than the rest of a card, and a page's URLs differ only in
    the id: build one for a marker id and put each card's id in its place.
    """
    marker = str(MAX_ID)
    head, _, tail = url_for(endpoint, **{id_name: marker}, **filters).partition(marker)
    return lambda row_id: f"{head}{row_id}{tail}"


def initials(name: str | None, email: str | None) -> str:
    """A staff member's initials for a card: of their name's first and last words, else
    the first letter of their email; "" for nobody."""
    words = (name or "").split()
    if words:
        letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
        return letters.upper()
    return (email or "")[:1].upper()
