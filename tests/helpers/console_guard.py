"""What the browser reports as broken: console errors, uncaught script errors, failed
loads and Content Security Policy violations (the e2e `console_guard` fixture)."""

import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Response, WebError

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
