"""The snippet a website loads (`/widget.js`) and the chat page its iframe opens (`/w/<key>`)."""

import re

from flask import (
    abort,
    current_app,
    make_response,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from followup.llm.client import is_configured
from followup.models import Tenant
from followup.services import chats, widget_look
from followup.web.framing import framing_origins
from followup.web.locale import use_locale, visitor_locale
from followup.web.rate_limits import per_ip
from followup.web.static_files import IMMUTABLE
from followup.web.widget import bp
from followup.web.widget.texts import script_texts

# Websites pick up a new snippet within minutes, yet it is not fetched on every page view.
SNIPPET_MAX_AGE_S = 300
_ACCENT_DIGITS = re.compile(r"[0-9a-f]{6}")
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
    look = widget_look.look_of(tenant.id)
    avatar_src = None
    if look.avatar_digest:
        avatar_src = url_for("widget.avatar", public_key=public_key, digest=look.avatar_digest)
    use_locale(visitor_locale(tenant, request.args.get("locale")))
    page = render_template(
        "widget/page.html",
        tenant=tenant,
        script_texts=script_texts(),
        allowed_origins=framing_origins(tenant),
        presence=chats.widget_presence(tenant),
        # The chats' address in the JSON API, where the voice endpoints are (routes.py).
        voice_api=url_for("widget_api.new_messages", chat_id=0).removesuffix("/0/messages"),
        voice_on_server=is_configured(),
        look=look,
        avatar_src=avatar_src,
        agent_name=chats.web_widget_agent_name(tenant),
        preview=False,
    )
    response = make_response(page)
    response.headers["Content-Security-Policy"] = content_security_policy(tenant)
    # The framing rule follows the tenant's settings at once.
    response.headers["Cache-Control"] = "no-cache"
    # The language follows the browser's when the host page names none.
    response.vary.add("Accept-Language")
    return response


def _immutable(response):
    """The accent's stylesheet and the header picture: their URLs change with their
    content, so browsers keep them for a year."""
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/w/accent/<digits>.css")
@per_ip("WIDGET_READS_LIMIT_PER_IP")
def accent_stylesheet(digits: str):
    """The widget's colours made from one accent (`#` + digits): the page's CSP allows
    our own stylesheets only, never inline styles. The same for every business with
    this accent, and never changing: kept by browsers for a year."""
    if not _ACCENT_DIGITS.fullmatch(digits):
        abort(404)
    shades = widget_look.accent_shades("#" + digits)
    response = make_response(render_template("widget/accent.css", **shades))
    response.mimetype = "text/css"
    return _immutable(response)


@bp.get("/w/<public_key>/avatar/<digest>")
@per_ip("WIDGET_READS_LIMIT_PER_IP")
def avatar(public_key: str, digest: str):
    """The header picture; its digest is in the URL, so a new picture gets a new URL."""
    data, content_type = widget_look.avatar_of(public_key, digest)
    response = make_response(data)
    response.mimetype = content_type
    # Only a PNG, JPEG or WebP is ever saved; should a browser open it as a page, it runs nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return _immutable(response)
