"""The snippet a website loads (`/widget.js`) and the chat page its iframe opens (`/w/<key>`)."""

import re

from flask import current_app, make_response, render_template, request, send_from_directory

from followup.models import Tenant
from followup.services import chats
from followup.web.rate_limits import per_ip
from followup.web.widget import bp

# Websites pick up a new snippet within minutes, yet it is not fetched on every page view.
SNIPPET_MAX_AGE_S = 300
# An origin as browsers write it. Anything else in the list is left out of the
# header, where it could smuggle in CSP syntax (";", spaces, quotes).
_ORIGIN = re.compile(r"^https?://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$")
# The page runs our own files only; inline scripts and styles never run, so
# customer text that slipped through escaping still could not execute.
_PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
)


@bp.get("/widget.js")
def snippet():
    response = send_from_directory(
        current_app.static_folder,
        "widget.js",
        mimetype="application/javascript",
        max_age=SNIPPET_MAX_AGE_S,
    )
    response.cache_control.public = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def framing_origins(tenant: Tenant) -> list[str]:
    """The tenant's websites that may embed the chat, as browsers write origins."""
    origins = []
    for origin in tenant.allowed_origins or []:
        candidate = origin.strip().rstrip("/").lower() if isinstance(origin, str) else ""
        if _ORIGIN.match(candidate) and candidate not in origins:
            origins.append(candidate)
    return origins


def may_show_on(tenant: Tenant, origin: str | None) -> bool:
    """Whether a page on `origin` (a browser's Origin header) may show the widget: what
    `frame-ancestors` below lets it frame. No Origin: a page of ours (a browser sends
    none on a same-origin GET) or no browser at all."""
    own = request.host_url.rstrip("/")
    return origin is None or origin == own or origin in framing_origins(tenant)


def content_security_policy(tenant: Tenant) -> str:
    # Only the tenant's own websites may frame the chat (and we ourselves, for previews).
    ancestors = " ".join(["'self'", *framing_origins(tenant)])
    return f"{_PAGE_POLICY}; frame-ancestors {ancestors}"


@bp.get("/w/<public_key>")
@per_ip("WIDGET_READS_LIMIT_PER_IP")
def chat_page(public_key: str):
    tenant = chats.tenant_for_widget(public_key)
    page = render_template(
        "widget/page.html",
        tenant=tenant,
        allowed_origins=framing_origins(tenant),
        presence=chats.widget_presence(tenant),
    )
    response = make_response(page)
    response.headers["Content-Security-Policy"] = content_security_policy(tenant)
    # The framing rule follows the tenant's settings at once.
    response.headers["Cache-Control"] = "no-cache"
    return response
