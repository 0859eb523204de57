"""The headers every page of the staff side (login and admin) is sent with."""

from flask import Response

# Our own files only: no inline script or style runs, so text that slipped past
# escaping still could not execute; and only our own pages may frame these (clickjacking).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "SAMEORIGIN",  # for browsers that do not know frame-ancestors
    "X-Content-Type-Options": "nosniff",
    # Admin URLs carry customers' names in searches: never sent to other sites.
    "Referrer-Policy": "same-origin",
}


def add_staff_page_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response
