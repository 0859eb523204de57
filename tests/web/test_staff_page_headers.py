"""The login page and every admin page refuse to be framed by other sites and carry a
Content-Security-Policy; the widget's chat page stays frameable by the tenant's sites.
(The e2e tests load the admin pages in Chromium and fail on any CSP violation.)"""

import pytest

from followup.extensions import db

ADMIN_PAGES = [
    "/admin/followups",
    "/admin/followups/settings",
    "/admin/users",
    "/admin/agents",
    "/admin/auto-followup",
    "/admin/settings",
    "/admin/followups/999999",  # an error page too
]


def assert_staff_page_headers(response) -> None:
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_login_page_cannot_be_framed_by_other_sites(browser, staff):
    assert_staff_page_headers(browser.get("/login"))
    assert_staff_page_headers(browser.login(staff.email, "wrong password"))


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_cannot_be_framed_by_other_sites(staff_browser, url):
    assert_staff_page_headers(staff_browser.get(url))
    assert_staff_page_headers(staff_browser.get(url, htmx=True))


def test_admin_pages_run_no_inline_script(staff_browser):
    """What the policy forbids must not be in the pages (the browser would refuse it)."""
    for url in ADMIN_PAGES[:-1]:
        page = staff_browser.get(url).get_data(as_text=True)
        assert "<script>" not in page and " style=" not in page, url


def test_the_widget_chat_page_stays_frameable_by_the_tenants_sites(app, tenant):
    tenant.allowed_origins = ["https://shop.example"]
    db.session.commit()
    response = app.test_client().get(f"/w/{tenant.widget_public_key}")
    assert response.headers["Content-Security-Policy"].endswith(
        "frame-ancestors 'self' https://shop.example"
    )
    assert "X-Frame-Options" not in response.headers
