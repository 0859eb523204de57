"""Benchmark: the admin list partial at 100k follow-ups per tenant, on PostgreSQL.

    .venv/bin/python bench/admin_list.py        (or `make bench`)

1. Recreates the database `followup_bench`, migrates it (`flask db upgrade`, so
   the real indexes exist) and loads 100k follow-ups for one tenant plus a few
   thousand for a second one, so tenant scoping matters.
2. Serves the real app with gunicorn on a free 127.0.0.1 port. The app instance
   gets two additions: a timer that reports the server time of each request in
   `X-Server-Time-Ms`, and a bare route `/bench/bare` as the baseline.
3. Logs in through /login (with its CSRF token) and measures
   (a) p50/p95 server time of `GET /admin/followups?q=<term>&status=pending`
       sent as HTMX (`HX-Request: true`), cycling through rare and common terms;
   (b) requests per second of that request and of `/bench/bare` with a few
       client threads, in alternating slices, and their ratio.
4. Does it twice: as shipped, where the web processes keep rendered list pages
   (FOLLOWUPS_LIST_CACHE_MB; the terms repeat, as staff views, refreshes and
   paging do), and with that cache off, so every request queries and renders: what
   a search typed for the first time, or the first view after a change, costs.

Targets: p95 <= 30 ms with and without the cache; ratio >= 0.3 as shipped. Exit
code 0 when they pass.
Environment: BENCH_POSTGRES_ADMIN_URL (default the local server's `postgres`
database), BENCH_WORKERS/BENCH_THREADS (gunicorn; default 2/4).
"""

import argparse
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar

import sqlalchemy as sa
from harness import (
    ScratchDatabase,
    free_port,
    migrated_app,
    percentile,
    start_gunicorn,
    stop_processes,
    verdict,
)

from followup.config import Config

DATABASE = ScratchDatabase("followup_bench")

MAIN_TENANT_ROWS = 100_000
OTHER_TENANT_ROWS = 3_000
STAFF_EMAIL = "bench@bench.example"
STAFF_PASSWORD = "bench password"
# One browser: Flask-Login's session protection ties the session to the User-Agent,
# and a request from another one rewrites the session cookie.
USER_AGENT = "Mozilla/5.0 (admin-list benchmark)"

LATENCY_REQUESTS = 500
# Enough requests that the shared host's passing load mostly averages out.
THROUGHPUT_REQUESTS = 4_000
WARMUP_REQUESTS = 1_000  # of the bare route, before the throughput is measured
# Throughput is measured in alternating slices of the bare route and the list, so that
# whatever else runs on the (shared) machine weighs on both alike.
THROUGHPUT_SLICES = 10
CLIENT_THREADS = 4
P95_TARGET_MS = 30.0
RATIO_TARGET = 0.3

# Rare and common terms of each kind the search serves: names, reason words, email domains.
SEARCH_TERMS = [
    "smith",  # very common surname
    "nakamura",  # rare surname
    "refund",  # common reason word
    "warranty",  # less common reason word
    "gmail.com",  # common email domain
    "fastmail.fm",  # rare email domain
    "maria",  # common first name
    "invoice 1042",  # a phrase that matches a handful of rows
]

FIRST_NAMES = [
    "Maria", "John", "Aiko", "Lukas", "Fatima", "James", "Mary", "Robert", "Patricia",
    "Michael", "Linda", "David", "Elena", "William", "Sofia", "Richard", "Emma", "Joseph",
    "Olivia", "Thomas", "Ava", "Charles", "Mia", "Daniel", "Amelia", "Matthew", "Chloe",
    "Anthony", "Lucia", "Mark", "Nora", "Paul", "Hannah", "Steven", "Leila", "Andrew", "Priya",
    "Kenji", "Omar", "Zoe", "Ivan", "Ingrid", "Mateo", "Ana", "Pierre", "Camille", "Hugo",
    "Chen", "Wei", "Yuki", "Ahmed", "Sara", "Noah", "Liam", "Grace",
]  # fmt: skip
# Weighted like real surnames: a few very common, a long tail of rare ones.
SURNAMES = [
    ("Smith", 40), ("Johnson", 30), ("Williams", 25), ("Brown", 25), ("Garcia", 22),
    ("Miller", 20), ("Davis", 20), ("Martinez", 18), ("Lopez", 15), ("Wilson", 15),
    ("Anderson", 12), ("Taylor", 12), ("Thomas", 12), ("Moore", 10), ("Jackson", 10),
    ("Martin", 10), ("Lee", 10), ("Perez", 9), ("Thompson", 9), ("White", 9),
    ("Harris", 8), ("Clark", 8), ("Lewis", 8), ("Robinson", 7), ("Walker", 7),
    ("Young", 6), ("Allen", 6), ("King", 6), ("Wright", 6), ("Scott", 5), ("Weber", 5),
    ("Muller", 5), ("Schmidt", 5), ("Rossi", 4), ("Bianchi", 3), ("Dubois", 3),
    ("Tanaka", 3), ("Khan", 4), ("Singh", 5), ("Kowalski", 2), ("Novak", 2),
    ("Nakamura", 1), ("Okafor", 1), ("Haddad", 1), ("Lindqvist", 1), ("Papadopoulos", 1),
]  # fmt: skip
DOMAINS = [
    ("gmail.com", 40), ("outlook.com", 15), ("yahoo.com", 12), ("hotmail.com", 8),
    ("icloud.com", 8), ("proton.me", 4), ("web.de", 3), ("example.com", 6),
    ("acme-corp.com", 2), ("fastmail.fm", 1),
]  # fmt: skip
REASONS = [
    "Asked for a refund for a damaged order #{n}.",
    "Wants a quote for {q} custom-printed hoodies before the event.",
    "Needs help with invoice {n}: the VAT number is missing.",
    "Would like to book a consultation about a kitchen renovation.",
    "The mobile app logs them out every few minutes.",
    "Enterprise pricing for {q} seats and SSO; needs a call with sales.",
    "Package {n} shows as delivered but never arrived.",
    "Warranty claim: the blender stopped working after {q} weeks.",
    "Wants to change the delivery address of order #{n}.",
    "Billing question: charged twice for the {month} subscription.",
    "Asked to speak with a person about cancelling the contract.",
    "Cannot reset the password; the email never arrives.",
    "Requests a callback about a bulk discount for {q} units.",
    "Complaint about a rude delivery driver on order #{n}.",
    "Needs the product manual and spare parts for model X{q}.",
]
MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October",
]  # fmt: skip
STATUS_WEIGHTS = {"pending": 30, "contacted": 25, "resolved": 35, "cancelled": 10}


# ---------------------------------------------------------------- the served app


def bench_app():
    """The real app plus a server-time header and a bare baseline route (gunicorn loads this)."""
    from flask import g

    from followup import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": os.environ["BENCH_DATABASE_URL"],
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )

    @app.before_request
    def start_timer():
        g.bench_started = time.perf_counter()

    @app.after_request
    def report_server_time(response):
        elapsed_ms = (time.perf_counter() - g.bench_started) * 1000
        response.headers["X-Server-Time-Ms"] = f"{elapsed_ms:.3f}"
        return response

    @app.get("/bench/bare")
    def bare():
        return "ok"

    return app


# ---------------------------------------------------------------- data


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def _followup_rows(rng: random.Random, tenant_id: int, count: int, now: datetime) -> Iterator[dict]:
    statuses, weights = zip(*STATUS_WEIGHTS.items(), strict=True)
    for n in range(count):
        first, last = rng.choice(FIRST_NAMES), _weighted(rng, SURNAMES)
        domain = _weighted(rng, DOMAINS)
        created = now - timedelta(seconds=rng.randint(0, 365 * 24 * 3600))
        status = rng.choices(statuses, weights)[0]
        reason = rng.choice(REASONS).format(
            n=rng.randint(1000, 99999), q=rng.randint(2, 500), month=rng.choice(MONTHS)
        )
        contacted = created + timedelta(hours=rng.randint(1, 48))
        yield {
            "tenant_id": tenant_id,
            "name": f"{first} {last}",
            "email": f"{first}.{last}{n % 97}@{domain}".lower(),
            "phone": f"+1415555{rng.randint(0, 9999):04d}" if rng.random() < 0.4 else None,
            "reason": reason,
            "summary": "The customer chatted with the AI assistant, which offered a follow-up.",
            "priority": "high" if rng.random() < 0.1 else "normal",
            "status": status,
            "source": rng.choice(["text", "voice", "api"]),
            "notes": "",
            "created_at": created,
            "contacted_at": contacted if status in ("contacted", "resolved") else None,
            "resolved_at": contacted + timedelta(days=1) if status == "resolved" else None,
            "cancelled_at": created + timedelta(hours=2) if status == "cancelled" else None,
        }


def _chunks(rows: Iterator[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_data() -> None:
    """Migrate the fresh database and bulk-insert the follow-ups of both tenants."""
    from followup.extensions import db
    from followup.models import FollowUpRequest
    from followup.services import accounts

    with migrated_app({"SQLALCHEMY_DATABASE_URI": DATABASE.url}):
        main = accounts.create_tenant("bench", "Bench Co", contact_email="team@bench.example")
        other = accounts.create_tenant("other", "Other Co", contact_email="ops@other.example")
        accounts.create_staff_user("bench", STAFF_EMAIL, STAFF_PASSWORD, name="Bench Admin")
        rng = random.Random(2024)
        now = datetime.now(UTC)
        insert = sa.insert(FollowUpRequest.__table__)
        for tenant_id, count in ((main.id, MAIN_TENANT_ROWS), (other.id, OTHER_TENANT_ROWS)):
            for chunk in _chunks(_followup_rows(rng, tenant_id, count, now), 5_000):
                db.session.execute(insert, chunk)
            db.session.commit()
    # Fresh planner statistics, as autovacuum would have them on a live database.
    engine = sa.create_engine(DATABASE.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()


# ---------------------------------------------------------------- server


def start_server(port: int, list_cache_mb: str) -> subprocess.Popen:
    return start_gunicorn(
        "admin_list:bench_app()",
        port,
        {"BENCH_DATABASE_URL": DATABASE.url, "FOLLOWUPS_LIST_CACHE_MB": list_cache_mb},
        workers=int(os.environ.get("BENCH_WORKERS", "2")),
        threads=int(os.environ.get("BENCH_THREADS", "4")),
    )


# ---------------------------------------------------------------- client


def login(base: str) -> str:
    """Log in like a browser; return the Cookie header value of the session."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"{base}/login", timeout=10).read().decode()
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    if match is None:
        raise RuntimeError("no csrf_token field on /login")
    form = urllib.parse.urlencode(
        {"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": match.group(1)}
    ).encode()
    response = opener.open(f"{base}/login", data=form, timeout=10)
    if response.url.rstrip("/").endswith("/login"):
        raise RuntimeError("login failed: still on /login")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def list_path(term: str) -> str:
    return "/admin/followups?" + urllib.parse.urlencode({"q": term, "status": "pending"})


class Client:
    """One keep-alive connection with the staff session, sending HTMX requests."""

    def __init__(self, port: int, cookie: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Cookie": cookie, "HX-Request": "true", "User-Agent": USER_AGENT}

    def get(self, path: str) -> tuple[int, float, bytes]:
        """Status, server time in ms, body."""
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        return response.status, float(response.getheader("X-Server-Time-Ms", "nan")), body

    def close(self) -> None:
        self.connection.close()


def check_list_partial(client: Client) -> None:
    """Fail early when the route is not the logged-in list partial (e.g. a login redirect)."""
    for term in SEARCH_TERMS:
        status, _, body = client.get(list_path(term))
        if status != 200:
            raise RuntimeError(f"{list_path(term)} answered {status}: {body[:200]!r}")
        if b"<html" in body.lower():
            raise RuntimeError(f"{list_path(term)} sent a full page, not the HTMX partial")


def measure_latency(client: Client) -> dict[str, list[float]]:
    """Server times in ms by search term."""
    times: dict[str, list[float]] = {term: [] for term in SEARCH_TERMS}
    for i in range(LATENCY_REQUESTS):
        term = SEARCH_TERMS[i % len(SEARCH_TERMS)]
        status, server_ms, _ = client.get(list_path(term))
        if status != 200:
            raise RuntimeError(f"list request answered {status}")
        times[term].append(server_ms)
    return times


def timed_requests(port: int, cookie: str, paths: list[str], count: int) -> float:
    """Seconds to send `count` requests of `paths` (cycled), CLIENT_THREADS at once."""
    per_thread = count // CLIENT_THREADS
    failures: list[str] = []

    def run(offset: int) -> None:
        client = Client(port, cookie)
        try:
            for i in range(per_thread):
                status, _, _ = client.get(paths[(offset + i) % len(paths)])
                if status != 200:
                    failures.append(f"status {status}")
                    return
        finally:
            client.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(CLIENT_THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"throughput run failed: {failures[0]}")
    return elapsed


def measure_throughput(port: int, cookie: str, list_paths: list[str]) -> tuple[float, float]:
    """Requests per second of the list and of the bare route, THROUGHPUT_REQUESTS each."""
    per_slice = THROUGHPUT_REQUESTS // THROUGHPUT_SLICES
    list_seconds = bare_seconds = 0.0
    for _ in range(THROUGHPUT_SLICES):
        bare_seconds += timed_requests(port, cookie, ["/bench/bare"], per_slice)
        list_seconds += timed_requests(port, cookie, list_paths, per_slice)
    requests = per_slice * THROUGHPUT_SLICES
    return requests / list_seconds, requests / bare_seconds


@dataclass
class Figures:
    p50: float
    p95: float
    max: float
    p50_by_term: dict[str, float]
    rps_list: float
    rps_bare: float

    @property
    def ratio(self) -> float:
        return self.rps_list / self.rps_bare


def measure(port: int) -> Figures:
    cookie = login(f"http://127.0.0.1:{port}")
    client = Client(port, cookie)
    try:
        check_list_partial(client)
        measure_latency(client)  # warm-up: connections, caches, compiled templates
        times_by_term = measure_latency(client)
    finally:
        client.close()
    list_paths = [list_path(term) for term in SEARCH_TERMS]
    timed_requests(port, cookie, ["/bench/bare"], WARMUP_REQUESTS)
    rps_list, rps_bare = measure_throughput(port, cookie, list_paths)
    times = [ms for term_times in times_by_term.values() for ms in term_times]
    return Figures(
        p50=statistics.median(times),
        p95=percentile(times, 0.95),
        max=max(times),
        p50_by_term={term: statistics.median(ms) for term, ms in times_by_term.items()},
        rps_list=rps_list,
        rps_bare=rps_bare,
    )


def report(title: str, figures: Figures) -> None:
    print(f"\n  {title}")
    print(f"    server time  p50 {figures.p50:6.2f} ms   p95 {figures.p95:6.2f} ms   "
          f"max {figures.max:6.2f} ms")  # fmt: skip
    by_term = ", ".join(f"{term} {ms:.1f}" for term, ms in figures.p50_by_term.items())
    print(f"    p50 by term (ms): {by_term}")
    print(f"    throughput   list {figures.rps_list:7.1f} req/s   "
          f"bare {figures.rps_bare:7.1f} req/s")  # fmt: skip
    print(f"    ratio list/bare {figures.ratio:.2f}  ({CLIENT_THREADS} client threads)")


def run_server(list_cache_mb: str) -> Figures:
    port = free_port()
    server = start_server(port, list_cache_mb)
    try:
        return measure(port)
    finally:
        stop_processes([server])


def run_benchmark() -> bool:
    shipped = run_server(str(Config.FOLLOWUPS_LIST_CACHE_MB))
    uncached = run_server("0")
    print(f"\nAdmin list partial, {MAIN_TENANT_ROWS:,} follow-ups (+{OTHER_TENANT_ROWS:,} other)")
    print(f"  terms: {', '.join(SEARCH_TERMS)}; status=pending; {LATENCY_REQUESTS} requests")
    report(f"as shipped (FOLLOWUPS_LIST_CACHE_MB={Config.FOLLOWUPS_LIST_CACHE_MB:g})", shipped)
    report("every request queried and rendered (FOLLOWUPS_LIST_CACHE_MB=0)", uncached)
    p95_ok = max(shipped.p95, uncached.p95) <= P95_TARGET_MS
    ratio_ok = shipped.ratio >= RATIO_TARGET
    print(f"\n  target p95 <= {P95_TARGET_MS:.0f} ms, both ways: {verdict(p95_ok)}")
    print(f"  target ratio >= {RATIO_TARGET} as shipped: {verdict(ratio_ok)}"
          f"  (without the cache: {uncached.ratio:.2f})")  # fmt: skip
    return p95_ok and ratio_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help=f"keep {DATABASE.name} afterwards")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # keep our lines in order with the servers'

    started = time.perf_counter()
    DATABASE.recreate()
    try:
        load_data()
        print(f"Loaded {MAIN_TENANT_ROWS + OTHER_TENANT_ROWS:,} rows in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        passed = run_benchmark()
    finally:
        if not args.keep:
            DATABASE.drop()
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
