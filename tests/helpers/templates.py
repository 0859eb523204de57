"""Which templates a request rendered: Flask's `template_rendered` signal, recorded.

Only the templates handed to `render_template` count, in the order they were rendered;
those a template includes or extends do not. A view that renders a piece first and
then the page around it (the Follow-Up Requests list inside its page) names both.

    with assert_rendered(app, "admin/agents/_list.html"):
        browser.get("/admin/agents", htmx=True)

`assert_rendered` is about the answer: the emails a request sends on the way (templates
under `notify/`) are left out of what it compares; `rendered_templates` keeps them.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from flask.signals import template_rendered

# Templates of messages sent while answering (emails), not of the answer.
SENT_ON_THE_WAY = "notify/"


def _app_of(app_or_client) -> Flask:
    """The app itself, or the app behind a test client (`.application`) or behind a
    browser that holds a test client (`.client`)."""
    if isinstance(app_or_client, Flask):
        return app_or_client
    if hasattr(app_or_client, "application"):
        return app_or_client.application
    return app_or_client.client.application


@contextmanager
def rendered_templates(app_or_client) -> Iterator[list[str]]:
    """The names of the templates rendered inside the block, in order."""
    app = _app_of(app_or_client)
    names: list[str] = []

    def record(sender, template, context, **extra):
        names.append(template.name)

    template_rendered.connect(record, app)
    try:
        yield names
    finally:
        template_rendered.disconnect(record, app)


@contextmanager
def assert_rendered(app_or_client, *expected: str) -> Iterator[list[str]]:
    """The block renders exactly `expected`, in this order (none: it renders nothing,
    e.g. a redirect), besides the emails it sends. Yields every name, emails too."""
    with rendered_templates(app_or_client) as names:
        yield names
    answer = [name for name in names if not name.startswith(SENT_ON_THE_WAY)]
    assert answer == list(expected), f"rendered {answer}, expected {list(expected)}"
