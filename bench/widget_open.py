"""Benchmark: what a website visitor downloads for the widget, and how soon it is usable.

    .venv/bin/python bench/widget_open.py [--runs 20]

1. Creates a SQLite database of its own, migrates it and adds a tenant whose widget
   the bench's website may show.
2. Serves the real app with gunicorn (1 worker x 8 threads) and, on another origin,
   the website: a page with the snippet, and the floor, a page whose button makes an
   iframe of an empty page holding a focused textarea (cross-site, like the chat).
3. In headless Chromium (/usr/bin/chromium via Playwright), for each run in a fresh
   browser (nothing cached): opens the page, clicks the launcher and times the click
   to a usable message box (enabled and focused, in the chat's frame), then opens the
   page again in the same browser and counts what the second open transferred.
   Times come from the page's own clock (Date.now() in both frames), reported to
   the bench through a Playwright binding.

Prints: the loader's transferred body bytes (gzip, as served), the chat's HTML + CSS
+ JS transferred on first open and on the second (cached) open, and the p50 of the
click-to-usable time beside the floor's. PASS or FAIL against 3 KB and 40 KB (exit
code 0 or 1); the times are for reading, not judged.
"""

import argparse
import os
import statistics
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from harness import (
    ScratchDatabase,
    free_port,
    start_gunicorn,
    stop_processes,
    verdict,
    widget_tenant,
)

LOADER_BUDGET = 3 * 1024
CHAT_BUDGET = 40 * 1024
CHAT_TYPES = ("document", "stylesheet", "script")
DATABASE = ScratchDatabase("followup_widget_open_bench")  # only its SQLite mode is used

# Runs in every frame: the website notes the click, a chat frame the moment its
# textarea is usable (enabled and focused).
MARKS = """
(() => {
  const mark = (what) => window.__benchMark(what, Date.now());
  if (window.top === window) {
    addEventListener("click", () => mark("click"), true);
    return;
  }
  let done = false;
  const check = () => {
    const box = document.querySelector("textarea");
    if (done || !box || box.disabled || document.activeElement !== box) return;
    done = true;
    mark("usable");
  };
  document.addEventListener("focusin", check, true);
  new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true});
})();
"""
FLOOR_FRAME = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Empty</title>
</head><body><textarea aria-label="Message"></textarea>
<script>document.querySelector("textarea").focus();</script></body></html>"""


def bench_app():
    """The real app on the bench's database (gunicorn loads it)."""
    from followup.factory import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": os.environ["BENCH_DATABASE_URL"],
            "RATELIMIT_STORAGE_URI": "memory://",
            "WIDGET_SESSIONS_LIMIT_PER_IP": "1000000 per minute",
            "WIDGET_READS_LIMIT_PER_IP": "1000000 per minute",
            "WIDGET_CONFIG_LIMIT_PER_IP": "1000000 per minute",
        }
    )


def website(app_url: str, public_key: str, port: int) -> ThreadingHTTPServer:
    """The business's website on http://localhost:<port>; the floor's frame on
    http://127.0.0.1:<port> (another site, as the chat is)."""
    pages = {
        "/": f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
</head><body><h1>Shop</h1>
<script src="{app_url}/widget.js" data-key="{public_key}" async></script></body></html>""",
        "/floor": f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Floor</title>
</head><body><h1>Shop</h1><button type="button" aria-label="Open chat">Chat</button>
<script>
document.querySelector("button").addEventListener("click", () => {{
  const frame = document.createElement("iframe");
  frame.src = "http://127.0.0.1:{port}/empty";
  document.body.appendChild(frame);
}});
</script></body></html>""",
        "/empty": FLOOR_FRAME,
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Visit:
    """One browser (a fresh cache): what it fetched and when it saw what."""

    def __init__(self, chromium, app_origin: str):
        self.context = chromium.new_context(viewport={"width": 1280, "height": 820})
        self.context.set_default_timeout(15_000)
        self.marks: dict[str, float] = {}
        self.fetched: list = []
        self.app_origin = app_origin
        self.context.expose_binding("__benchMark", self._mark)
        self.context.add_init_script(MARKS)

    def _mark(self, _source, what: str, at_ms: float) -> None:
        self.marks.setdefault(what, at_ms)

    def open(self, url: str, frame_selector: str) -> float:
        """Open `url`, click its launcher; ms from the click to a usable message box."""
        self.marks.clear()
        self.fetched.clear()
        page = self.context.new_page()
        page.on("requestfinished", lambda request: self.fetched.append(request))
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.get_by_role("button", name="Open chat").click()
        box = page.frame_locator(frame_selector).get_by_label("Message", exact=True)
        box.wait_for()
        page.wait_for_function("() => true")  # let the marks' bindings arrive
        while "usable" not in self.marks:
            page.wait_for_timeout(5)
        page.wait_for_load_state("networkidle")
        self.fetched = [
            (request.url, request.resource_type, request.sizes()["responseBodySize"])
            for request in self.fetched
        ]
        page.close()
        return self.marks["usable"] - self.marks["click"]

    def transferred(self, *, loader: bool) -> int:
        """Body bytes as transferred (compressed; 0 from the cache) from our server: the
        loader, or the chat's HTML, CSS and scripts."""
        total = 0
        for url, resource_type, body_size in self.fetched:
            if not url.startswith(self.app_origin):
                continue
            if loader != (urlsplit(url).path == "/widget.js"):
                continue
            if not loader and resource_type not in CHAT_TYPES:
                continue
            total += max(body_size, 0)
        return total

    def close(self) -> None:
        self.context.close()


def measure(chromium, app_url: str, site_port: int, runs: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {
        "loader": [], "chat first": [], "chat second": [], "open ms": [], "floor ms": []
    }  # fmt: skip
    site = f"http://localhost:{site_port}"
    for _ in range(runs):
        visit = Visit(chromium, app_url)
        try:
            figures["open ms"].append(visit.open(site + "/", "[data-followup-widget] iframe"))
            figures["loader"].append(visit.transferred(loader=True))
            figures["chat first"].append(visit.transferred(loader=False))
            visit.open(site + "/", "[data-followup-widget] iframe")
            figures["chat second"].append(visit.transferred(loader=False))
        finally:
            visit.close()
        floor = Visit(chromium, app_url)
        try:
            figures["floor ms"].append(floor.open(site + "/floor", "iframe"))
        finally:
            floor.close()
    return figures


def report(figures: dict[str, list[float]], runs: int) -> bool:
    def p50(name: str) -> float:
        return statistics.median(figures[name])

    loader_ok = max(figures["loader"]) <= LOADER_BUDGET
    chat_ok = max(figures["chat first"]) <= CHAT_BUDGET
    print(f"\nWidget open, {runs} runs in headless Chromium, local (a fresh browser each run)")
    print(f"  loader transferred:           {p50('loader'):8.0f} B   (budget {LOADER_BUDGET} B)")
    print(f"  chat HTML+CSS+JS, first open: {p50('chat first'):8.0f} B   (budget {CHAT_BUDGET} B)")
    print(f"  chat HTML+CSS+JS, second:     {p50('chat second'):8.0f} B   (cached: the HTML only)")
    print(f"  click to usable input p50:    {p50('open ms'):8.1f} ms")
    print(f"  floor (empty iframe) p50:     {p50('floor ms'):8.1f} ms")
    # The machine's load says how much of the time is other work sharing the CPU.
    print("  load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"  loader <= 3 KB: {verdict(loader_ok)}; chat first open <= 40 KB: {verdict(chat_ok)}")
    return loader_ok and chat_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)

    from playwright.sync_api import sync_playwright

    from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS

    site_port, app_port = free_port(), free_port()
    with DATABASE.for_run("sqlite", "widget-open-bench-") as database_url:
        public_key = widget_tenant(database_url, "bench", f"http://localhost:{site_port}")
        app_url = f"http://127.0.0.1:{app_port}"
        server = start_gunicorn(
            "widget_open:bench_app()",
            app_port,
            {"BENCH_DATABASE_URL": database_url},
            workers=1,
            threads=8,
        )
        site = website(app_url, public_key, site_port)
        try:
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                figures = measure(chromium, app_url, site_port, args.runs)
                chromium.close()
        finally:
            site.shutdown()
            stop_processes([server])
    return 0 if report(figures, args.runs) else 1


if __name__ == "__main__":
    sys.exit(main())
