"""The one place that decides between a full page and an HTMX partial."""

import json
from collections.abc import Callable, Sequence

from flask import Response, make_response, redirect, render_template, request


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


def redirect_after_post(url: str) -> Response:
    """Send the browser to another page after a post that succeeded.

    A plain form post gets a 303. An HTMX request must not: its XHR would follow the
    redirect unseen and htmx would swap the next page into the form, the URL unchanged.
    It gets `HX-Redirect` instead: a full load of `url`, with its own title, navigation
    and history entry, so Back returns to the page the post came from, reloaded.
    """
    if request.htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
    else:
        response = redirect(url, 303)
    response.vary.add("HX-Request")
    return response


def trigger(response: Response, *events: str) -> Response:
    """Tell the page which panes to refresh (`HX-Trigger`)."""
    response.headers["HX-Trigger"] = json.dumps({event: True for event in events})
    return response


def answer(
    partial: Callable[[], Response],
    *,
    page: Callable[[], Response] | None = None,
    page_url: str | None = None,
    events: Sequence[str] = (),
) -> Response:
    """The one way a view answers when its page and its partial take different work.

    An HTMX swap gets `partial()`, with `events` (`HX-Trigger`) so the other panes that
    show the same data follow. Anything else gets `page()`, the whole page (with the
    error status of a refusal); or, given `page_url` instead, goes there: after a post
    (the change is made) with `redirect_after_post`, from a pane that exists only
    inside its page with a plain redirect. Only the answer given is rendered.
    """
    if is_partial_request():
        response = partial()
        if events:
            trigger(response, *events)
    elif page is not None:
        response = page()
    elif request.method == "POST":
        response = redirect_after_post(page_url)
    else:
        response = redirect(page_url)
    response.vary.add("HX-Request")
    return response
