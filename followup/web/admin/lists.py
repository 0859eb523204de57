"""What the admin lists share: links that keep a list's filters."""

from collections.abc import Callable

from flask import url_for

from followup.services.queries import MAX_ID


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
