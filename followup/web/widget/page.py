"""The snippet a website loads (`/widget.js`) and the chat page its iframe opens (`/w/<key>`)."""

from flask import current_app, make_response, render_template, request, send_from_directory

from followup.models import Tenant
from followup.services import chats
from followup.web.framing import framing_origins
from followup.web.locale import use_locale, visitor_locale
from followup.web.rate_limits import per_ip
from followup.web.widget import bp
from followup.web.widget.texts import script_texts

# Websites pick up a new snippet within minutes, yet it is not fetched on every page view.
SNIPPET_MAX_AGE_S = 300
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


def content_security_policy(tenant: Tenant) -> str:
    # Only the tenant's own websites may frame the chat (and we ourselves, for previews).
    ancestors = " ".join(["'self'", *framing_origins(tenant)])
    return f"{_PAGE_POLICY}; frame-ancestors {ancestors}"


@bp.get("/w/<public_key>")
@per_ip("WIDGET_READS_LIMIT_PER_IP")
def chat_page(public_key: str):
    tenant = chats.tenant_for_widget(public_key)
    locale = visitor_locale(tenant, request.args.get("locale"))
    use_locale(locale)
    page = render_template(
        "widget/page.html",
        tenant=tenant,
        locale=locale,
        script_texts=script_texts(),
        allowed_origins=framing_origins(tenant),
        presence=chats.widget_presence(tenant),
    )
    response = make_response(page)
    response.headers["Content-Security-Policy"] = content_security_policy(tenant)
    # The framing rule follows the tenant's settings at once.
    response.headers["Cache-Control"] = "no-cache"
    # The language follows the browser's when the host page names none.
    response.vary.add("Accept-Language")
    return response
