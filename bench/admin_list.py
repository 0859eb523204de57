"""Benchmark: the admin list partial at 100k and at 1M follow-ups of one tenant, on
PostgreSQL.

    .venv/bin/python bench/admin_list.py        (or `make bench`)

1. Recreates the database `followup_bench`, migrates it (`flask db upgrade`, so
   the real indexes exist) and loads 100k follow-ups for one tenant plus a few
   thousand for a second one, so tenant scoping matters. Rows go in with COPY.
2. Serves the real app with gunicorn on a free 127.0.0.1 port. The app instance
   gets a timer that reports the server time of each request in `X-Server-Time-Ms`.
3. Logs in through /login (with its CSRF token) and measures p50/p95 server time of
   `GET /admin/followups?q=<term>&status=pending` sent as HTMX (`HX-Request: true`),
   cycling through rare and common terms: each request queries and renders the list.
4. Adds follow-ups to the first tenant until it has 1M and measures again.

Target: p95 <= 30 ms at each size. Exit code 0 when it passes.
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

DATABASE = ScratchDatabase("followup_bench")

# The first tenant's follow-ups at each measurement: it grows from one to the next.
MAIN_TENANT_SIZES = (100_000, 1_000_000)
OTHER_TENANT_ROWS = 3_000
STAFF_EMAIL = "bench@bench.example"
STAFF_PASSWORD = "bench password"
# One browser: Flask-Login's session protection ties the session to the User-Agent,
# and a request from another one rewrites the session cookie.
USER_AGENT = "Mozilla/5.0 (admin-list benchmark)"

LATENCY_REQUESTS = 500
P95_TARGET_MS = 30.0

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
    """The real app plus a server-time header (gunicorn loads this)."""
    from flask import g

    from followup.factory import create_app

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

    return app


# ---------------------------------------------------------------- data


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def _followup_rows(
    rng: random.Random, tenant_id: int, count: int, now: datetime
) -> Iterator[tuple]:
    """`count` follow-ups of the tenant, in COPY_COLUMNS' order; times naive UTC, as
    the app stores them."""
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
        yield (
            tenant_id,
            f"{first} {last}",
            f"{first}.{last}{n % 97}@{domain}".lower(),
            f"+1415555{rng.randint(0, 9999):04d}" if rng.random() < 0.4 else None,
            reason,
            "The customer chatted with the AI assistant, which offered a follow-up.",
            "high" if rng.random() < 0.1 else "normal",
            status,
            rng.choice(["text", "voice", "api"]),
            "",
            False,
            created,
            contacted if status in ("contacted", "resolved") else None,
            contacted + timedelta(days=1) if status == "resolved" else None,
            created + timedelta(hours=2) if status == "cancelled" else None,
        )


COPY_COLUMNS = (
    "tenant_id", "name", "email", "phone", "reason", "summary", "priority", "status",
    "source", "notes", "identity_verified", "created_at", "contacted_at", "resolved_at",
    "cancelled_at",
)  # fmt: skip


def copy_followups(rows: Iterator[tuple]) -> None:
    """COPY the rows into followup_requests: a million in seconds, where INSERTs of
    ORM objects would take minutes."""
    engine = sa.create_engine(DATABASE.url)
    connection = engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            columns = ", ".join(COPY_COLUMNS)
            with cursor.copy(f"COPY followup_requests ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        connection.commit()
    finally:
        connection.close()
        engine.dispose()


def analyze() -> None:
    """Fresh planner statistics and visibility map, as autovacuum would leave them on a
    live database (index-only scans need the latter)."""
    engine = sa.create_engine(DATABASE.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()


@dataclass
class Tenants:
    main: int
    other: int


def create_tenants() -> Tenants:
    """Migrate the fresh database; add both tenants and the first one's staff member."""
    from followup.services import staff_accounts, tenants

    with migrated_app({"SQLALCHEMY_DATABASE_URI": DATABASE.url}):
        main = tenants.create_tenant("bench", "Bench Co", contact_email="team@bench.example")
        other = tenants.create_tenant("other", "Other Co", contact_email="ops@other.example")
        staff_accounts.create_staff_user("bench", STAFF_EMAIL, STAFF_PASSWORD, name="Bench Admin")
        return Tenants(main.id, other.id)


class Followups:
    """The follow-ups of the bench's tenants, added in steps, from one random stream."""

    def __init__(self, tenants: Tenants):
        self.tenants = tenants
        self.rng = random.Random(2024)
        self.now = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as stored
        self.main_rows = 0

    def add(self, tenant_id: int, count: int) -> None:
        copy_followups(_followup_rows(self.rng, tenant_id, count, self.now))
        if tenant_id == self.tenants.main:
            self.main_rows += count

    def grow_main_to(self, total: int) -> None:
        started = time.perf_counter()
        self.add(self.tenants.main, total - self.main_rows)
        analyze()
        print(f"Grew the tenant to {total:,} follow-ups in {time.perf_counter() - started:.1f} s")


# ---------------------------------------------------------------- server


def start_server(port: int) -> subprocess.Popen:
    return start_gunicorn(
        "admin_list:bench_app()",
        port,
        {"BENCH_DATABASE_URL": DATABASE.url},
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


@dataclass
class Figures:
    p50: float
    p95: float
    max: float
    p50_by_term: dict[str, float]


def measure(port: int) -> Figures:
    client = Client(port, login(f"http://127.0.0.1:{port}"))
    try:
        check_list_partial(client)
        measure_latency(client)  # warm-up: connections, compiled templates, the database cache
        times_by_term = measure_latency(client)
    finally:
        client.close()
    times = [ms for term_times in times_by_term.values() for ms in term_times]
    return Figures(
        p50=statistics.median(times),
        p95=percentile(times, 0.95),
        max=max(times),
        p50_by_term={term: statistics.median(ms) for term, ms in times_by_term.items()},
    )


def run_server() -> Figures:
    port = free_port()
    server = start_server(port)
    try:
        return measure(port)
    finally:
        stop_processes([server])


def report(rows: int, figures: Figures) -> bool:
    passed = figures.p95 <= P95_TARGET_MS
    print(f"\n  {rows:,} follow-ups of the tenant (+{OTHER_TENANT_ROWS:,} of another)")
    print(f"    server time  p50 {figures.p50:6.2f} ms   p95 {figures.p95:6.2f} ms   "
          f"max {figures.max:6.2f} ms   target p95 <= {P95_TARGET_MS:.0f} ms: "
          f"{verdict(passed)}")  # fmt: skip
    by_term = ", ".join(f"{term} {ms:.1f}" for term, ms in figures.p50_by_term.items())
    print(f"    p50 by term (ms): {by_term}")
    return passed


def run_benchmark(followups: Followups) -> bool:
    print("\nAdmin list partial, queried and rendered on each request")
    print(f"  terms: {', '.join(SEARCH_TERMS)}; status=pending; {LATENCY_REQUESTS} requests")
    passed = []
    for rows in MAIN_TENANT_SIZES:
        followups.grow_main_to(rows)
        passed.append(report(rows, run_server()))
    return all(passed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help=f"keep {DATABASE.name} afterwards")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # keep our lines in order with the servers'

    started = time.perf_counter()
    DATABASE.recreate()
    try:
        followups = Followups(create_tenants())
        followups.add(followups.tenants.other, OTHER_TENANT_ROWS)
        passed = run_benchmark(followups)
        print(f"\nRan in {time.perf_counter() - started:.0f} s")
    finally:
        if not args.keep:
            DATABASE.drop()
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
