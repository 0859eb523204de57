"""Staff members in the test client: a browser that keeps the CSRF token and sends
HTMX's headers, logged in or not."""

import re

from flask import Flask, g
from flask.testing import FlaskClient

PASSWORD = "correct horse battery"


class StaffBrowser:
    """A staff member's browser: the test client plus the CSRF token and HTMX headers."""

    def __init__(self, client: FlaskClient):
        self.client = client
        self.csrf_token: str | None = None

    def refresh_csrf(self, url: str = "/login") -> None:
        page = self.client.get(url).get_data(as_text=True)
        match = re.search(r'name="csrf-token" content="([^"]+)"', page) or re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', page
        )
        assert match, f"no CSRF token on {url}"
        self.csrf_token = match.group(1)

    def login(self, email: str, password: str = PASSWORD):
        self.refresh_csrf("/login")
        return self.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": self.csrf_token}
        )

    @staticmethod
    def _headers(htmx: bool, headers: dict | None) -> dict:
        merged = {"HX-Request": "true"} if htmx else {}
        return merged | (headers or {})

    def get(self, url: str, htmx: bool = False, headers: dict | None = None, **kwargs):
        return self.client.get(url, headers=self._headers(htmx, headers), **kwargs)

    def post(
        self,
        url: str,
        data=None,
        htmx: bool = False,
        csrf: bool = True,
        headers: dict | None = None,
        **kwargs,
    ):
        headers = self._headers(htmx, headers)
        if csrf:
            headers["X-CSRFToken"] = self.csrf_token
        return self.client.post(url, data=data, headers=headers, **kwargs)


def as_a_new_request() -> None:
    """Forget what `g` kept from the last request: the tests share one app context, so
    `g` outlives a request, while on a server each request loads its user (and its CSRF
    token) anew. Call it between requests of different browsers or moved clocks."""
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def logged_in_browser(app: Flask, email: str) -> StaffBrowser:
    """A browser with the staff member `email` logged in."""
    browser = StaffBrowser(app.test_client())
    response = browser.login(email)
    assert response.status_code == 303, response.get_data(as_text=True)
    browser.refresh_csrf("/admin/followups")
    return browser
