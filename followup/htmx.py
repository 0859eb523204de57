"""The one place that decides between a full page and an HTMX partial."""

import json

from flask import Response, make_response, render_template, request


def is_partial_request() -> bool:
    """An HTMX swap wants the fragment; a boost or a history restore wants the page."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page_template: str, partial_template: str, status: int = 200, **context) -> Response:
    """Render the page (which includes the partial) or, for HTMX, just the partial."""
    template = partial_template if is_partial_request() else page_template
    return html_response(render_template(template, **context), status)


def html_response(html: str, status: int = 200) -> Response:
    """A rendered page or partial; HTTP caches keep the two apart (`Vary: HX-Request`)."""
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


def trigger(response: Response, *events: str) -> Response:
    """Tell the page which panes to refresh (`HX-Trigger`)."""
    response.headers["HX-Trigger"] = json.dumps({event: True for event in events})
    return response
