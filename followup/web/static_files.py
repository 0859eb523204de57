"""How browsers get our files: static files under versioned URLs they keep for a year,
and gzip for what the widget loads on the business's website.

`static_url("js/widget-chat.js")` is `/static/js/widget-chat.js?v=<content hash>`: a
new file gets a new URL, so the old one may be cached as immutable. A URL with an old
or no version is served as before (revalidated), never cached for long.
"""

import hashlib
from functools import cache
from pathlib import Path

from flask import Flask, Response, current_app, request, url_for

from followup.extensions import compress

IMMUTABLE = "public, max-age=31536000, immutable"
# Gzip only for these. Not the staff pages: a page with a secret (the CSRF token)
# beside text an attacker can choose must not be compressed (BREACH). The widget's
# page and files hold no secret.
COMPRESSED_ENDPOINTS = frozenset({"static", "widget.snippet", "widget.chat_page"})


@cache
def content_version(folder: str, filename: str) -> str:
    """The file's content hash, read once per process (static files change on deploy)."""
    return hashlib.sha256((Path(folder) / filename).read_bytes()).hexdigest()[:16]


def static_url(filename: str) -> str:
    folder = current_app.static_folder
    return url_for("static", filename=filename, v=content_version(folder, filename))


def _cache_versioned(response: Response) -> Response:
    # Only a file that was found: its name is then one of our files, never a guess.
    if request.endpoint != "static" or response.status_code != 200 or "v" not in request.args:
        return response
    filename = request.view_args["filename"]
    if request.args["v"] == content_version(current_app.static_folder, filename):
        response.headers["Cache-Control"] = IMMUTABLE
    return response


def _compress_widget_files(response: Response) -> Response:
    if request.endpoint in COMPRESSED_ENDPOINTS:
        return compress.after_request(response)
    return response


def install_static_files(app: Flask) -> None:
    app.after_request(_cache_versioned)
    app.after_request(_compress_widget_files)
    app.add_template_global(static_url, "static_url")
