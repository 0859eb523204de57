"""Fixtures for the browser tests: a live server, a clean seeded database, real Chromium.

The server is the real app on a SQLite file, served by werkzeug in a daemon thread
for the whole session; each test empties the tables and seeds its own data from the
test thread (inside an app context of its own), and gets a fresh browser context, so
no cookies or state leak between tests. These tests do not use the root `app`
fixture: they run once, on SQLite.

Every browser context a test opens is watched (`console_guard`): a console error, an
uncaught script error or a Content Security Policy violation fails the test, unless
the test allows that text with `@pytest.mark.allow_console_errors("...")`.
"""

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Response, WebError, expect
from werkzeug.serving import make_server

from followup.extensions import db
from followup.models import FollowUpRequest, Source
from followup.services import followups, staff_accounts, tenants
from tests.helpers.apps import build_app, empty_tables
from tests.helpers.staff import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
SCREENS = ARTIFACTS.parent / "screens"
STAFF_EMAIL = "owner@acme.example"

# Oldest first; the page lists newest first, so Katherine is on top and Ada last.
SEED_FOLLOWUPS = [
    {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "reason": "Wants a callback about the analytical engine invoice.",
    },
    {
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "phone": "+1 415 555 0100",
        "reason": "Question about renewing the compiler licence before Friday.",
    },
    {
        "name": "Alan Turing",
        "email": "alan@example.com",
        "reason": "Needs help resetting the password of the bombe console.",
    },
    {
        "name": "Katherine Johnson",
        "email": "katherine@example.com",
        "reason": "Asked for the trajectory report to be re-sent.",
    },
]
ALREADY_CONTACTED = "Katherine Johnson"


@dataclass
class LiveServer:
    app: object
    url: str

    def seed(self, extra_followups: list[dict] | None = None) -> dict[str, int]:
        """A tenant, its owner and some follow-ups; returns follow-up ids by name."""
        with self.app.app_context():
            empty_tables()
            tenant = tenants.create_tenant("acme", "Acme Inc", contact_email="team@acme.example")
            staff = staff_accounts.create_staff_user(
                "acme", STAFF_EMAIL, PASSWORD, name="Olivia Owner"
            )
            ids = {}
            for data in SEED_FOLLOWUPS + (extra_followups or []):
                ids[data["name"]] = followups.create_followup(
                    tenant.id, data, source=Source.TEXT
                ).id
            followups.change_status(
                tenant.id,
                ids[ALREADY_CONTACTED],
                "contacted",
                followups.Actor(staff.display_name, staff.id),
            )
            db.session.remove()
        return ids

    def mark_identity_verified(self, followup_id: int) -> None:
        """As if the request had come with the website's signed identity."""
        with self.app.app_context():
            db.session.get(FollowUpRequest, followup_id).identity_verified = True
            db.session.commit()
            db.session.remove()

    def change_status(self, followup_id: int, status: str) -> None:
        """A change made behind the browser's back, as by another staff member."""
        with self.app.app_context():
            followup = db.session.get(FollowUpRequest, followup_id)
            followups.change_status(
                followup.tenant_id, followup_id, status, followups.Actor("Another Admin")
            )
            db.session.remove()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("e2e") / "e2e.db"
    # Every test logs in afresh: keep the login rate limit out of the way.
    app = build_app(f"sqlite:///{database}", LOGIN_RATE_LIMIT="1000 per minute")
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    yield LiveServer(app, f"http://127.0.0.1:{server.port}")
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def seeded(live_server) -> dict[str, int]:
    """A clean database with the standard seed; follow-up ids by customer name."""
    return live_server.seed()


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            # Back and Forward as users have them: Playwright turns this cache off.
            ignore_default_args=["--disable-back-forward-cache"],
        )
        yield browser
        browser.close()


@pytest.fixture
def viewport() -> dict:
    """Tests parametrize this to run at another size."""
    return {"width": 1366, "height": 900}


@pytest.fixture
def page(chromium, live_server, viewport):
    context = chromium.new_context(base_url=live_server.url, viewport=viewport)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def staff_login(page: Page, target: str) -> None:
    """Open `target` as the seeded staff member: the login form comes first, then `target`."""
    page.goto(target)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("#email", STAFF_EMAIL)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))
    # The URL changes before htmx has wired the page up: typing earlier is lost.
    page.wait_for_load_state("load")


def screenshot(page, name: str) -> None:
    """The whole page as a person sees it, to look at: test-artifacts/screens/<name>.png."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True, animations="disabled")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# --- no console errors, no script errors, no CSP violations -------------------------------------

CSP_BINDING = "__followupCspViolation"
# Chromium logs a violation to the console too; the event names the directive and the
# blocked thing in every frame, whatever the console line says.
CSP_LISTENER = f"""
document.addEventListener("securitypolicyviolation", function (event) {{
  var report = window.{CSP_BINDING};
  if (report) report(event.effectiveDirective + " refused " + (event.blockedURI || "inline")
    + " in " + event.documentURI + (event.sample ? " (" + event.sample + ")" : ""));
}}, true);
"""
# Chromium logs every 4xx/5xx answer as a console error. A 4xx to an HTMX or fetch
# request is the app refusing something and the page showing why (422 form errors,
# 409 conflicts, 401 session ended); those lines are judged by the response instead.
STATUS_LINE = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")
ASKED_BY_SCRIPT = {"xhr", "fetch"}


def failed_load(status: int, resource_type: str) -> bool:
    """A server error, or a page, frame, script, style or image that did not load."""
    return status >= 500 or (status >= 400 and resource_type not in ASKED_BY_SCRIPT)


@dataclass
class ConsoleGuard:
    """Collects what the browser reports as broken in the contexts it watches."""

    allowed: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> BrowserContext:
        context.on("console", self._on_console)
        context.on("weberror", self._on_script_error)
        context.on("response", self._on_response)
        context.expose_binding(CSP_BINDING, lambda _source, text: self._add(f"CSP: {text}"))
        context.add_init_script(CSP_LISTENER)
        return context

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not STATUS_LINE.match(message.text):
            where = message.location.get("url", "")
            self._add(f"console error ({where}): {message.text}")

    def _on_script_error(self, error: WebError) -> None:
        self._add(f"script error: {error.error}")

    def _on_response(self, response: Response) -> None:
        kind = response.request.resource_type
        if failed_load(response.status, kind):
            self._add(f"HTTP {response.status} for the {kind} {response.url}")

    def _add(self, problem: str) -> None:
        self.problems.append(problem)

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(text in p for text in self.allowed)]

    def check(self) -> None:
        if unexpected := self.unexpected():
            listed = "\n".join(f"  - {problem}" for problem in unexpected)
            pytest.fail(f"The browser reported errors:\n{listed}", pytrace=False)


@pytest.fixture(autouse=True)
def console_guard(request, monkeypatch) -> Iterator[ConsoleGuard]:
    """Watches every context the test opens on the shared browser and fails the test at
    teardown on anything the browser reported that the test did not allow."""
    marker = request.node.get_closest_marker("allow_console_errors")
    guard = ConsoleGuard(allowed=marker.args if marker else ())
    if "chromium" in request.fixturenames:
        browser = request.getfixturevalue("chromium")
        new_context = browser.new_context
        monkeypatch.setattr(browser, "new_context", lambda **kw: guard.watch(new_context(**kw)))
    yield guard
    guard.check()
