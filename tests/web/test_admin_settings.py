"""The tenant Settings page: business details, the widget snippet, origins, the widget secret."""

import html
import os
import re
import shutil
import subprocess
from types import SimpleNamespace

import pytest

from followup.errors import ValidationFailed
from followup.extensions import db
from followup.models import Tenant
from followup.services import staff_accounts
from followup.services.prefill import identity_signature, visitor_from_website
from followup.services.tenant_settings import normalize_origin, parse_origins
from followup.services.widget_identity import SECRET_GRACE
from tests.helpers.apps import text_of
from tests.helpers.html_tree import code_block
from tests.helpers.staff import PASSWORD, StaffBrowser, as_a_new_request
from tests.helpers.templates import assert_rendered

BUSINESS = {
    "name": "Acme Inc",
    "contact_email": "team@acme.example",
    "contact_phone": "",
    "timezone": "UTC",
}


def stored(tenant) -> Tenant:
    db.session.expire_all()
    return db.session.get(Tenant, tenant.id)


@pytest.fixture
def staff_member_browser(app, tenant, staff) -> StaffBrowser:
    """A second account of the tenant: role admin, not owner."""
    member = staff_accounts.create_staff_user(
        "acme", "sam@acme.example", PASSWORD, name="Sam Staff"
    )
    assert member.role == "admin"
    browser = StaffBrowser(app.test_client())
    assert browser.login(member.email).status_code == 303
    browser.refresh_csrf("/admin/settings")
    return browser


# --- the page -------------------------------------------------------------------------------


def test_full_page_and_partial(staff_browser, tenant):
    with assert_rendered(staff_browser, "admin/settings/page.html"):
        page_response = staff_browser.get("/admin/settings")
    with assert_rendered(staff_browser, "admin/settings/_sections.html"):
        partial_response = staff_browser.get("/admin/settings", htmx=True)
    page, partial = text_of(page_response), text_of(partial_response)
    assert page_response.status_code == partial_response.status_code == 200
    assert "<h1>Settings</h1>" in page and "<html" in page
    assert re.search(r'href="/admin/settings"\s+aria-current="page">Settings<', page)
    assert "<html" not in partial and "<h1>" not in partial
    for body in (page, partial):
        assert 'id="business-title">Business</h2>' in body
        assert 'id="widget-title">Website widget</h2>' in body
        assert 'value="Acme Inc"' in body and 'value="team@acme.example"' in body
        assert '<option value="Europe/Berlin">' in body
        assert ">Rotate widget secret</button>" in body
    assert "HX-Request" in partial_response.headers["Vary"]


def test_snippet_has_the_real_public_key_and_base_url(app, staff_browser, tenant):
    page = text_of(staff_browser.get("/admin/settings"))
    expected = (
        f'<script src="{app.config["PUBLIC_BASE_URL"]}/widget.js" '
        f'data-key="{tenant.widget_public_key}" async></script>'
    )
    assert code_block(page, "widget-snippet") == expected
    assert code_block(page, "widget-public-key") == tenant.widget_public_key
    assert 'data-copy-target="#widget-snippet"' in page
    # The snippet with a signed customer ends with the same line.
    assert code_block(page, "identity-snippet").endswith(expected)
    assert "window.FollowupWidget" in code_block(page, "identity-snippet")


def test_secret_is_masked_until_revealed(staff_browser, tenant):
    page = text_of(staff_browser.get("/admin/settings"))
    assert '<details class="secret-reveal">' in page  # closed: the secret is not shown
    assert code_block(page, "widget-secret-value") == tenant.widget_secret
    assert "ws_••••" in page


def _example_code(page: str, element_id: str) -> str:
    return code_block(page, element_id)


def test_python_example_computes_the_signature_the_server_checks(staff_browser, tenant):
    code = _example_code(text_of(staff_browser.get("/admin/settings")), "identity-python")
    assert len(code.splitlines()) == 3
    scope = {"customer": SimpleNamespace(id=42)}
    os.environ["FOLLOWUP_WIDGET_SECRET"] = tenant.widget_secret
    try:
        exec(code, scope)  # the page's own example, run as a website's server would
    finally:
        del os.environ["FOLLOWUP_WIDGET_SECRET"]
    assert scope["signature"] == identity_signature(tenant.widget_secret, "42")
    visitor = visitor_from_website(tenant, {"id": 42, "signature": scope["signature"]})
    assert visitor["verified"] is True


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_node_example_computes_the_signature_the_server_checks(staff_browser, tenant):
    code = _example_code(text_of(staff_browser.get("/admin/settings")), "identity-node")
    assert len(code.splitlines()) == 3
    result = subprocess.run(
        ["node", "-e", "const customer = {id: 42};\n" + code + "\nconsole.log(signature);"],
        env={"FOLLOWUP_WIDGET_SECRET": tenant.widget_secret, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stdout.strip() == identity_signature(tenant.widget_secret, "42")


def test_followup_settings_summary_links_to_the_followups_settings(staff_browser):
    page = text_of(staff_browser.get("/admin/settings"))
    assert "We'll contact you within 24 hours" in html.unescape(page)
    assert 'href="/admin/followups/settings"' in page


# --- business details -----------------------------------------------------------------------


def test_save_business_as_htmx(staff_browser, tenant):
    data = BUSINESS | {
        "name": "  Acme Rockets ",
        "contact_email": "Sales@Acme.Example",
        "contact_phone": "+1 415 555 0100",
        "timezone": "Europe/Berlin",
        "sms_enabled": "on",
    }
    with assert_rendered(staff_browser, "admin/settings/_business.html"):
        response = staff_browser.post("/admin/settings/business", data=data, htmx=True)
    body = text_of(response)
    assert response.status_code == 200
    assert "<html" not in body and "Business details saved." in body
    # The sidebar's business name is swapped out of band.
    assert 'hx-swap-oob="outerHTML:.sidebar .tenant-name">Acme Rockets</p>' in body
    saved = stored(tenant)
    assert (saved.name, saved.contact_email, saved.contact_phone) == (
        "Acme Rockets",
        "sales@acme.example",
        "+14155550100",
    )
    assert (saved.timezone, saved.sms_enabled) == ("Europe/Berlin", True)


def test_save_business_as_plain_form_redirects_to_the_page(staff_browser, tenant):
    with assert_rendered(staff_browser):  # nothing: the browser loads the page next
        response = staff_browser.post(
            "/admin/settings/business", data=BUSINESS | {"name": "Acme 2"}
        )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/settings")
    assert stored(tenant).name == "Acme 2"


def test_clearing_optional_fields_stores_none(staff_browser, tenant):
    response = staff_browser.post(
        "/admin/settings/business", data=BUSINESS | {"contact_email": ""}, htmx=True
    )
    assert response.status_code == 200
    assert stored(tenant).contact_email is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "Business name: please fill this in."),
        ({"name": "x" * 201}, "name", "Business name: keep it to 200 characters or fewer"),
        ({"contact_email": "not-an-email"}, "contact_email", "Contact email: enter an address"),
        ({"contact_phone": "415 555 0100"}, "contact_phone", "Contact phone: enter the number"),
        ({"contact_phone": "+1 555"}, "contact_phone", "with its country code"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Time zone: &#34;Mars/Olympus_Mons&#34;"),
        ({"timezone": ""}, "timezone", "Time zone: please fill this in."),
        ({"sms_enabled": "on"}, "contact_phone", "Contact phone: add one to receive SMS"),
    ],
)
def test_business_validation_errors_save_nothing(staff_browser, tenant, changes, field, message):
    # Another, valid field changes too: it must not be saved either.
    data = BUSINESS | {"contact_email": "new@acme.example"} | changes
    response = staff_browser.post("/admin/settings/business", data=data, htmx=True)
    body = text_of(response)
    assert response.status_code == 422
    assert "<html" not in body and 'id="business-settings"' in body
    assert f'id="{field}-error" role="alert">' in body and message in body
    assert f'id="{field}"' in body and 'aria-invalid="true"' in body
    saved = stored(tenant)
    assert (saved.name, saved.contact_email, saved.timezone, saved.sms_enabled) == (
        "Acme Inc",
        "team@acme.example",
        "UTC",
        False,
    )


def test_every_business_error_is_shown_at_once(staff_browser):
    data = {"name": "", "contact_email": "bad", "contact_phone": "bad", "timezone": "Nowhere"}
    body = text_of(staff_browser.post("/admin/settings/business", data=data, htmx=True))
    for field in ("name", "contact_email", "contact_phone", "timezone"):
        assert f'id="{field}-error"' in body


def test_business_error_on_plain_post_renders_the_whole_page(staff_browser):
    with assert_rendered(staff_browser, "admin/settings/page.html"):
        response = staff_browser.post("/admin/settings/business", data=BUSINESS | {"name": ""})
    assert response.status_code == 422
    body = text_of(response)
    assert "<h1>Settings</h1>" in body and 'id="name-error"' in body
    assert 'value=""' in body  # the form keeps what was typed


# --- allowed origins ------------------------------------------------------------------------


def test_origins_are_validated_normalized_and_saved(staff_browser, tenant):
    text = (
        "HTTPS://WWW.Example.com/\r\n"
        "http://localhost:3000\n"
        "\n"
        "https://shop.example.com:443\n"
        "https://www.example.com\n"
    )
    response = staff_browser.post(
        "/admin/settings/origins", data={"allowed_origins": text}, htmx=True
    )
    assert response.status_code == 200
    assert "Origins saved" in text_of(response)
    assert stored(tenant).allowed_origins == [
        "https://www.example.com",
        "http://localhost:3000",
        "https://shop.example.com",
    ]
    page = text_of(staff_browser.get("/admin/settings"))
    listed = "https://www.example.com\nhttp://localhost:3000\nhttps://shop.example.com"
    assert f"{listed}</textarea>" in page


def test_empty_origins_are_allowed_and_explained(staff_browser, tenant):
    staff_browser.post("/admin/settings/origins", data={"allowed_origins": "https://a.example"})
    response = staff_browser.post("/admin/settings/origins", data={"allowed_origins": " \n"})
    assert response.status_code == 303
    assert stored(tenant).allowed_origins == []
    assert "no website can show the widget yet" in text_of(staff_browser.get("/admin/settings"))


@pytest.mark.parametrize(
    "bad",
    [
        "example.com",
        "ftp://example.com",
        "https://example.com/shop",
        "https://example.com?x=1",
        "https://example.com#top",
        "https://*.example.com",
        "https://user:secret@example.com",
        "https://example.com:99999",
        "javascript:alert(1)",
        "https://exa mple.com",
        "https://",
    ],
)
def test_bad_origins_are_refused_and_nothing_is_saved(staff_browser, tenant, bad):
    staff_browser.post("/admin/settings/origins", data={"allowed_origins": "https://ok.example"})
    response = staff_browser.post(
        "/admin/settings/origins",
        data={"allowed_origins": f"https://new.example\n{bad}"},
        htmx=True,
    )
    body = text_of(response)
    assert response.status_code == 422
    refusal = "Nothing was saved. Allowed website origins: on line 2, "
    assert f'id="origins-error" role="alert">{refusal}' in body
    assert html.escape(bad, quote=True) in body  # the typed text is kept in the form
    assert stored(tenant).allowed_origins == ["https://ok.example"]


def test_origin_error_on_plain_post_renders_the_whole_page(staff_browser):
    response = staff_browser.post("/admin/settings/origins", data={"allowed_origins": "nope"})
    assert response.status_code == 422
    assert "<h1>Settings</h1>" in text_of(response)


def test_too_many_origins_are_refused(staff_browser, tenant):
    text = "\n".join(f"https://site{n}.example" for n in range(51))
    response = staff_browser.post("/admin/settings/origins", data={"allowed_origins": text})
    assert response.status_code == 422
    assert "Allowed website origins: enter 50 or fewer (this has 51)." in text_of(response)
    assert stored(tenant).allowed_origins == []


@pytest.mark.parametrize(
    ("typed", "origin"),
    [
        ("https://Example.COM", "https://example.com"),
        ("https://example.com/", "https://example.com"),
        ("http://example.com:80", "http://example.com"),
        ("https://example.com:8443", "https://example.com:8443"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("  https://www.example.com  ", "https://www.example.com"),
    ],
)
def test_origins_are_written_as_browsers_send_them(typed, origin):
    assert normalize_origin(typed) == origin


def test_parse_origins_refuses_non_text():
    with pytest.raises(ValidationFailed):
        parse_origins(["https://example.com"])


# --- the widget secret ----------------------------------------------------------------------


def test_owner_rotates_the_secret_and_old_signatures_stop_after_the_grace(
    moved_clock, staff_browser, tenant
):
    old_secret = tenant.widget_secret
    old_signature = identity_signature(old_secret, "42")
    assert visitor_from_website(tenant, {"id": "42", "signature": old_signature})["verified"]

    response = staff_browser.post("/admin/settings/widget-secret", htmx=True)
    body = text_of(response)
    assert response.status_code == 200
    assert "<html" not in body and 'id="widget-secret"' in body
    new_secret = stored(tenant).widget_secret
    assert new_secret != old_secret and new_secret.startswith("ws_")
    assert code_block(body, "widget-secret-value") == new_secret
    assert '<details class="secret-reveal" open>' in body  # shown at once, to copy
    assert "identities signed with the old secret stop verifying after 24 hours" in body
    assert "The previous secret still verifies until Nov 24, 2026 10:00 UTC." in body

    tenant = stored(tenant)
    assert visitor_from_website(tenant, {"id": "42", "signature": old_signature})["verified"]
    moved_clock.shift(SECRET_GRACE)
    assert not visitor_from_website(tenant, {"id": "42", "signature": old_signature})["verified"]
    as_a_new_request()
    assert "previous-secret-note" not in text_of(staff_browser.get("/admin/settings"))
    new_signature = identity_signature(new_secret, "42")
    assert visitor_from_website(tenant, {"id": "42", "signature": new_signature})["verified"]


def test_rotation_asks_for_confirmation_and_explains_the_effect(staff_browser):
    page = text_of(staff_browser.get("/admin/settings"))
    form = re.search(r'<form class="rotate-form".*?</form>', page, re.S).group(0)
    assert 'method="post"' in form and 'name="csrf_token"' in form
    assert 'hx-confirm="Rotate the widget secret?' in form
    assert "Tokens and signatures made with the old secret keep verifying for 24 hours" in form


def test_rotation_as_plain_form_redirects(staff_browser, tenant):
    old_secret = tenant.widget_secret
    response = staff_browser.post("/admin/settings/widget-secret")
    assert response.status_code == 303
    assert stored(tenant).widget_secret != old_secret


OWNER_ONLY_WRITES = {
    "rotate the secret": (
        "/admin/settings/widget-secret",
        {},
        "Only the account owner can rotate the widget secret.",
        "widget_secret",
    ),
    "change the origins": (
        "/admin/settings/origins",
        {"allowed_origins": "https://evil.example"},
        "Only the account owner can change the allowed website origins.",
        "allowed_origins",
    ),
    "require identity": (
        "/admin/settings/identity",
        {"require_verified_identity": "on", "sign_in_url": "https://acme.example/login"},
        "Only the account owner can change who may chat.",
        "require_verified_identity",
    ),
}


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
@pytest.mark.parametrize("write", OWNER_ONLY_WRITES)
def test_staff_cannot_make_an_owner_only_change(staff_member_browser, tenant, write, htmx):
    path, data, refusal, attribute = OWNER_ONLY_WRITES[write]
    before = getattr(stored(tenant), attribute)
    response = staff_member_browser.post(path, data=data, htmx=htmx)
    assert response.status_code == 403
    assert refusal in text_of(response)
    if htmx:
        assert response.headers["HX-Retarget"] == "#alerts"
    assert getattr(stored(tenant), attribute) == before


def test_staff_see_the_owner_only_settings_read_only_and_why(staff_member_browser, tenant):
    """Whoever holds the secret can sign in as any customer; whoever sets the origins
    decides which websites show the chat: both stay with the owner."""
    page = text_of(staff_member_browser.get("/admin/settings"))
    assert re.search(r'class="btn btn-danger" disabled\s+aria-describedby="rotate-help"', page)
    assert "Only the account owner can rotate the widget secret." in page
    assert tenant.widget_secret not in page and tenant.widget_secret[:3] + "••••" in page
    assert "Only the account owner can see the widget secret." in page
    assert re.search(r'<textarea id="allowed_origins"[^>]*\breadonly>', page)
    assert re.search(r'class="btn btn-primary" disabled>Save origins', page)
    assert "Only the account owner can change the allowed origins." in page


def test_staff_can_still_change_business_details(staff_member_browser, tenant):
    response = staff_member_browser.post(
        "/admin/settings/business", data=BUSINESS | {"name": "Acme by Sam"}, htmx=True
    )
    assert response.status_code == 200
    assert stored(tenant).name == "Acme by Sam"


# --- CSRF, login, escaping ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/settings/business", BUSINESS | {"name": "Forged"}),
        ("/admin/settings/origins", {"allowed_origins": "https://evil.example"}),
        ("/admin/settings/widget-secret", {}),
    ],
)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_writes_without_csrf_token_are_refused(staff_browser, tenant, path, data, htmx):
    before = stored(tenant)
    snapshot = (before.name, list(before.allowed_origins), before.widget_secret)
    response = staff_browser.post(path, data=data, csrf=False, htmx=htmx)
    assert response.status_code == 400
    assert "security token" in text_of(response)
    after = stored(tenant)
    assert (after.name, list(after.allowed_origins), after.widget_secret) == snapshot


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/admin/settings"),
        ("post", "/admin/settings/business"),
        ("post", "/admin/settings/origins"),
        ("post", "/admin/settings/widget-secret"),
    ],
)
def test_settings_need_a_login(browser, tenant, method, path):
    response = getattr(browser.client, method)(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert stored(tenant).name == "Acme Inc"


def test_each_tenant_sees_only_its_own_keys(app, staff_browser, tenant, other_tenant):
    page = text_of(staff_browser.get("/admin/settings"))
    assert tenant.widget_public_key in page
    assert other_tenant.widget_public_key not in page
    assert other_tenant.widget_secret not in page
    staff_browser.post("/admin/settings/widget-secret", htmx=True)
    assert stored(other_tenant).widget_secret == other_tenant.widget_secret


def test_business_name_is_escaped(staff_browser, tenant):
    script = '<script>alert("x")</script>'
    staff_browser.post("/admin/settings/business", data=BUSINESS | {"name": f"Evil {script}"})
    for htmx in (False, True):
        body = text_of(staff_browser.get("/admin/settings", htmx=htmx))
        assert script not in body and "&lt;script&gt;" in body
