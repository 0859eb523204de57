"""Fixtures for the browser tests: a live server, a clean seeded database, real Chromium.

The server is the real app on a SQLite file, served by werkzeug in a daemon thread
for the whole session; each test empties the tables and seeds its own data from the
test thread (inside an app context of its own), and gets a fresh browser context, so
no cookies or state leak between tests. These tests do not use the root `app`
fixture: they run once, on SQLite.

Every browser context a test opens is watched (`console_guard`): a console error, an
uncaught script error or a Content Security Policy violation fails the test, unless
the test allows that text with `@pytest.mark.allow_console_errors("...")`.

The widget tests (test_widget.py, test_autofollowup.py) embed the widget in a website
on another origin: `widget_app_server` (the app answering through the fake model
`fake_model`), `host_site`, the seeded `shop`, and `browser_page` with no base URL.
Each of those modules has servers of its own (module scope), so one module's form
posts do not spend the other's rate limits.
"""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from followup.extensions import db
from followup.models import Tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers.apps import build_app
from tests.helpers.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LiveServer, served
from tests.helpers.console_guard import ConsoleGuard
from tests.helpers.embedded_widget import HostSite, Shop
from tests.helpers.machine import unavailable


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("e2e") / "e2e.db"
    # Every test logs in afresh: keep the login rate limit out of the way.
    app = build_app(f"sqlite:///{database}", LOGIN_RATE_LIMIT="1000 per minute")
    with served(app, "e2e-live-server") as server:
        yield server


@pytest.fixture
def seeded(live_server) -> dict[str, int]:
    """A clean database with the standard seed; follow-up ids by customer name."""
    return live_server.seed()


@pytest.fixture(scope="session")
def chromium(request):
    """The shared Chromium. A module may ask for one launched with more arguments:
    `@pytest.mark.parametrize("chromium", [FAKE_MEDIA_ARGS], indirect=True)` (a tuple;
    each distinct one is launched once)."""
    extra_args = list(getattr(request, "param", ()))
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS + extra_args,
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


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# --- the widget embedded in a website (test_widget.py, test_autofollowup.py) ---------------------


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def widget_app_server(tmp_path_factory, fake_model) -> Iterator[LiveServer]:
    """The app on its own database, answering through the fake model."""
    database = tmp_path_factory.mktemp("widget-e2e") / "widget.db"
    app = build_app(
        f"sqlite:///{database}",
        OPENAI_BASE_URL=fake_model.base_url,
        OPENAI_API_KEY="test-key",
        LLM_TIMEOUT_S=2.0,
        LOGIN_RATE_LIMIT="1000 per minute",
        WIDGET_SESSIONS_LIMIT_PER_IP="1000 per minute",
    )
    with served(app, "widget-e2e-app") as server:
        yield server


@pytest.fixture(scope="module")
def host_site() -> Iterator[HostSite]:
    site = HostSite(port=0)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/favicon.ico":
                self.send_response(204)
                self.end_headers()
                return
            html = site.pages.get(self.path.split("?")[0])
            body = (html or "Not found").encode()
            self.send_response(200 if html else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, name="widget-e2e-host", daemon=True).start()
    yield site
    server.shutdown()
    server.server_close()


@pytest.fixture
def shop(widget_app_server, host_site, fake_model) -> Shop:
    fake_model.reset()
    widget_app_server.seed()
    with widget_app_server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        tenant.allowed_origins = [host_site.origin]
        db.session.commit()
        shop = Shop(tenant.widget_public_key, tenant.widget_secret, widget_app_server.url)
        db.session.remove()
    return shop


@pytest.fixture
def browser_page(chromium: Browser, viewport) -> Iterator[Page]:
    context = chromium.new_context(viewport=viewport)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


# --- no console errors, no script errors, no CSP violations -------------------------------------


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
