"""Which websites may show a tenant's chat widget: the origins its page lets frame it
(web/widget/page.py) and the widget API lets start a chat (web/widget_api/routes.py)."""

import re

from flask import request

from followup.models import Tenant

# An origin as browsers write it. Anything else in the list is left out of the
# header, where it could smuggle in CSP syntax (";", spaces, quotes).
_ORIGIN = re.compile(r"^https?://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$")


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
    the chat page's `frame-ancestors` lets it frame. No Origin: a page of ours (a
    browser sends none on a same-origin GET) or no browser at all."""
    own = request.host_url.rstrip("/")
    return origin is None or origin == own or origin in framing_origins(tenant)
