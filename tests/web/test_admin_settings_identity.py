"""Settings → Website widget → Verified identity: "Require verified identity" and the
website's sign-in page; the token examples the page shows, run as a website would."""

import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from followup.extensions import db
from followup.models import Tenant
from followup.services import staff_accounts
from followup.services.widget_identity import verified_claims
from tests.helpers.apps import text_of
from tests.helpers.html_tree import code_block
from tests.helpers.machine import unavailable
from tests.helpers.staff import PASSWORD, StaffBrowser, as_a_new_request, logged_in_browser

PATH = "/admin/settings/identity"
LOGIN = "https://www.acme.example/login"
ON = {"require_verified_identity": "on", "sign_in_url": LOGIN}


def stored(tenant) -> Tenant:
    db.session.expire_all()
    return db.session.get(Tenant, tenant.id)


def member_browser(app, role: str) -> StaffBrowser:
    member = staff_accounts.create_staff_user(
        "acme", f"{role}@acme.example", PASSWORD, name=role.title(), role=role
    )
    as_a_new_request()
    return logged_in_browser(app, member.email)


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_owner_requires_verified_identity(staff_browser, tenant, htmx):
    response = staff_browser.post(PATH, data=ON, htmx=htmx)
    if htmx:
        body = text_of(response)
        assert response.status_code == 200 and "<html" not in body
        assert 'id="identity-settings"' in body
        assert "Saved: only signed-in visitors can chat." in body
        assert re.search(r'id="require_verified_identity"[^>]*checked', body)
    else:
        assert response.status_code == 303
    saved = stored(tenant)
    assert saved.require_verified_identity is True and saved.sign_in_url == LOGIN


def test_switching_it_off_keeps_the_link_and_lets_everybody_chat(staff_browser, tenant):
    staff_browser.post(PATH, data=ON, htmx=True)
    response = staff_browser.post(PATH, data={"sign_in_url": LOGIN}, htmx=True)
    assert "Saved: everybody can chat." in text_of(response)
    saved = stored(tenant)
    assert saved.require_verified_identity is False and saved.sign_in_url == LOGIN


def test_only_the_owner_may_change_it(app, staff, tenant):
    """Turning it off lets anybody chat: the owner's decision, like the secret's."""
    response = member_browser(app, "admin").post(PATH, data=ON, htmx=True)
    assert response.status_code == 403
    assert "Only the account owner can change who may chat." in text_of(response)
    assert stored(tenant).require_verified_identity is False


def test_an_agent_may_not(app, staff, tenant):
    response = member_browser(app, "agent").post(PATH, data=ON, htmx=True)
    assert response.status_code == 403
    assert stored(tenant).require_verified_identity is False


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_a_post_without_csrf_token_is_refused(staff_browser, tenant, htmx):
    response = staff_browser.post(PATH, data=ON, csrf=False, htmx=htmx)
    assert response.status_code == 400 and "security token" in text_of(response)
    assert stored(tenant).require_verified_identity is False


def test_it_needs_a_login(browser, tenant):
    response = browser.client.post(PATH, data=ON)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"require_verified_identity": "on", "sign_in_url": ""},
            "Sign-in page: add the page where visitors sign in, or switch off Require verified "
            "identity.",
        ),
        (
            {"sign_in_url": "http://www.acme.example/login"},
            "Sign-in page: use a full https:// address, such as https://www.example.com/login.",
        ),
        (
            {"sign_in_url": "www.acme.example/login"},
            "Sign-in page: use a full https:// address, such as https://www.example.com/login.",
        ),
        (
            {"sign_in_url": "javascript:alert(1)"},
            "Sign-in page: use a full https:// address, such as https://www.example.com/login.",
        ),
        (
            {"sign_in_url": "https://user:pw@acme.example/login"},
            "Sign-in page: leave out user names and passwords.",
        ),
        (
            {"sign_in_url": "https://acme.example:99999/login"},
            "Sign-in page: use a full https:// address, such as https://www.example.com/login.",
        ),
        (
            {"sign_in_url": "https://*.acme.example/login"},
            "Sign-in page: use a real host name, not *.acme.example.",
        ),
        (
            {"sign_in_url": "https://acme.example/" + "a" * 2000},
            "Sign-in page: keep it to 2,000 characters or fewer (this has 2,021).",
        ),
    ],
    ids=[
        "required-without-link",
        "http",
        "no-scheme",
        "javascript",
        "credentials",
        "port",
        "wildcard",
        "too-long",
    ],
)
def test_a_bad_sign_in_page_is_refused_in_our_words(staff_browser, tenant, data, message):
    response = staff_browser.post(PATH, data=data, htmx=True)
    body = text_of(response)
    assert response.status_code == 422
    assert "Nothing was saved: correct the fields marked below." in body
    assert f'<p class="field-error" id="sign_in_url-error" role="alert">{message}</p>' in body
    assert 'aria-invalid="true"' in body
    saved = stored(tenant)
    assert saved.require_verified_identity is False and saved.sign_in_url is None


def test_the_page_explains_rule_link_and_grace(staff_browser):
    page = text_of(staff_browser.get("/admin/settings"))
    assert "Require verified identity" in page
    assert "those whose token has expired, are asked to sign in on your website" in page
    assert "keep verifying for 24 hours, then stop" in page


# --- the token examples the page shows, run as a website's server would ---------------------


def test_python_token_example_makes_a_token_the_server_accepts(moved_clock, staff_browser, tenant):
    code = code_block(text_of(staff_browser.get("/admin/settings")), "token-python")
    customer = SimpleNamespace(id=42, name="Ada", email="ada@example.com", phone=None)
    scope = {"customer": customer}
    os.environ["FOLLOWUP_WIDGET_SECRET"] = tenant.widget_secret
    try:
        exec(code, scope)  # the page's own example
    finally:
        del os.environ["FOLLOWUP_WIDGET_SECRET"]
    claims = verified_claims(tenant, scope["token"])
    assert (claims["sub"], claims["name"], claims["phone"]) == ("42", "Ada", "")


# `make tools` installs the examples' packages here (tests/node/package.json).
NODE_PACKAGES = Path(__file__).parents[1] / "node"


def node_with_jsonwebtoken() -> str:
    """The folder where `require("jsonwebtoken")` works."""
    if shutil.which("node") is None:
        unavailable("Node.js is not installed (Debian: the nodejs package)")
    found = subprocess.run(
        ["node", "-e", 'require.resolve("jsonwebtoken")'], cwd=NODE_PACKAGES, capture_output=True
    )
    if found.returncode != 0:
        unavailable("jsonwebtoken is not installed: make tools (npm ci --prefix tests/node)")
    return str(NODE_PACKAGES)


# Node's clock moved with Python's under `make test-clock`.
NODE_CLOCK_AHEAD = Path(__file__).resolve().parents[1] / "clock_ahead" / "clock-ahead.cjs"


def test_node_token_example_makes_a_token_the_server_accepts(staff_browser, tenant):
    folder = node_with_jsonwebtoken()
    code = code_block(text_of(staff_browser.get("/admin/settings")), "token-node")
    customer = '{id: 42, name: "Ada", email: "ada@example.com", phone: null}'
    script = f"const customer = {customer};\n{code}\nconsole.log(token);"
    result = subprocess.run(
        ["node", "--require", str(NODE_CLOCK_AHEAD), "-e", script],
        env={
            "FOLLOWUP_WIDGET_SECRET": tenant.widget_secret,
            "PATH": os.environ["PATH"],
            "FOLLOWUP_TEST_CLOCK_AHEAD_DAYS": os.environ.get("FOLLOWUP_TEST_CLOCK_AHEAD_DAYS", ""),
        },
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    claims = verified_claims(tenant, result.stdout.strip())
    assert (claims["sub"], claims["email"], claims["phone"]) == ("42", "ada@example.com", "")
