"""The console guard (tests/e2e/conftest.py) can fail a test, and lets through only what
a test allows. The pages here are served by Playwright's router, not by the app."""

import pytest
from playwright.sync_api import Page, Route

pytestmark = pytest.mark.e2e

SITE = "http://guard.test"
# Inline scripts may run here, so the page can misbehave; inline styles may not.
POLICY = "default-src 'self'; script-src 'unsafe-inline'; style-src 'self'"
BROKEN_PAGE = """<!doctype html><html><head><link rel="stylesheet" href="/broken.css"></head>
<body><p style="color: red">Styled inline</p>
<script>
  console.error("Something broke in the page");
  console.warn("A warning is not an error");
  fetch("/refused", {method: "POST"});
  throw new Error("Uncaught in the page");
</script></body></html>"""
LOGGING_PAGE = """<!doctype html><html><body><script>
  console.error("Expected by the test");
  console.error("Not expected by anyone");
</script></body></html>"""


def serve(page: Page, html: str) -> None:
    def answer(route: Route) -> None:
        path = route.request.url.removeprefix(SITE)
        if path == "/broken.css":
            route.fulfill(status=500, body="down")
        elif path == "/refused":
            # What the app answers a refused form with: the page shows it, no error.
            route.fulfill(status=422, body="<p>Refused</p>")
        else:
            route.fulfill(
                status=200,
                body=html,
                headers={"Content-Type": "text/html", "Content-Security-Policy": POLICY},
            )

    page.route(f"{SITE}/**", answer)


def heard(page: Page, console_guard, count: int) -> None:
    """Wait until the guard has heard `count` problems: events arrive in order, so a
    round trip to the page after each check lets the next ones in (no clock)."""
    for _ in range(50):
        if len(console_guard.problems) >= count:
            return
        page.evaluate("() => new Promise(requestAnimationFrame)")
    raise AssertionError(f"the guard heard only {console_guard.problems}")


def test_the_guard_fails_a_page_with_a_console_error_a_script_error_or_a_csp_violation(
    page: Page, console_guard
):
    serve(page, BROKEN_PAGE)
    with page.expect_response(f"{SITE}/refused"):
        page.goto(f"{SITE}/")
    heard(page, console_guard, 6)  # a CSP violation and a 500 are also console lines

    problems = console_guard.unexpected()
    assert any("console error" in p and "Something broke in the page" in p for p in problems)
    assert any(p.startswith("script error") and "Uncaught in the page" in p for p in problems)
    assert any(p.startswith("CSP: style-src") for p in problems), problems
    assert any(p == f"HTTP 500 for the stylesheet {SITE}/broken.css" for p in problems)
    # A refusal the page asked for and a warning are not errors.
    assert not [p for p in problems if "/refused" in p or "A warning" in p], problems
    with pytest.raises(pytest.fail.Exception, match="Something broke in the page"):
        console_guard.check()
    console_guard.problems.clear()  # shown to fail; this test itself passes


@pytest.mark.allow_console_errors("Expected by the test")
def test_an_allowed_text_lets_only_the_matching_errors_through(page: Page, console_guard):
    serve(page, LOGGING_PAGE)
    page.goto(f"{SITE}/")
    heard(page, console_guard, 2)

    assert len(console_guard.problems) == 2, console_guard.problems
    [unexpected] = console_guard.unexpected()
    assert "Not expected by anyone" in unexpected
    with pytest.raises(pytest.fail.Exception, match="Not expected by anyone"):
        console_guard.check()
    console_guard.problems.remove(unexpected)  # the allowed one stays: teardown passes
