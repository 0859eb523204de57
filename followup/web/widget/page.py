"""The snippet a website loads (`/widget.js`) and the chat page its iframe opens (`/w/<key>`)."""

from flask import current_app, make_response, render_template, send_from_directory, url_for

from followup.llm.client import is_configured
from followup.models import Tenant
from followup.services import chats
from followup.web.framing import framing_origins
from followup.web.rate_limits import per_ip
from followup.web.widget import bp

# Websites pick up a new snippet within minutes, yet it is not fetched on every page view.
SNIPPET_MAX_AGE_S = 300
# The page runs our own files only; inline scripts and styles never run, so
# customer text that slipped through escaping still could not execute. Media: a reply
# read aloud by our server is fetched with the session token (an <audio> element cannot
# send it) and played from a blob: URL.
_PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'"
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
        # The chats' address in the JSON API, where the voice endpoints are (routes.py).
        voice_api=url_for("widget_api.new_messages", chat_id=0).removesuffix("/0/messages"),
        voice_on_server=is_configured(),
    )
    response = make_response(page)
    response.headers["Content-Security-Policy"] = content_security_policy(tenant)
    # The framing rule follows the tenant's settings at once.
    response.headers["Cache-Control"] = "no-cache"
    return response
