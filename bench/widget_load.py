"""Benchmark: many visitors chatting at once, each reply streamed, against a slow model.

    .venv/bin/python bench/widget_load.py [--database postgresql|sqlite]
                                          [--workers N --threads N]

BENCH_VISITORS (default 500) visitors, BENCH_MESSAGES (default 3) messages each.

1. Starts the fake OpenAI server (tests/fakes/openai_server.py) on 127.0.0.1; its
   first token comes 1.5 s after each request, as a hosted model's often does.
2. Creates a database of its own (PostgreSQL `followup_widget_load`, as production,
   or a SQLite file), migrates it and adds a tenant.
3. Serves the real app as production does: `gunicorn` with the project's
   gunicorn.conf.py (--workers/--threads override it, to compare), rate limits
   counted in Redis (budgets large enough for one address sending everything).
4. Memory per idle stream: the RSS of gunicorn's processes after a warm-up, then
   with every visitor's stream open and waiting for the model (the fake holds the
   answers), the difference divided by the number of streams.
5. The load: the visitors arrive over RAMP_S seconds; each opens a session
   (`POST /api/widget/v1/<key>/sessions`) and sends its messages with
   `Accept: text/event-stream`, reading each answer to its end and thinking
   THINK_S seconds before the next. First token: from sending the message to the
   first byte of its first `event: token`. An error: any other status, a stream that
   ends without `done`, a broken connection, more than REQUEST_TIMEOUT_S.

Target: 0 errors and first-token p95 <= model delay + 0.5 s. Prints PASS or FAIL
(exit code 0 or 1). The client is one asyncio loop (aiohttp): a stream costs it
little, so the server is what is measured.
Environment: BENCH_POSTGRES_ADMIN_URL, BENCH_REDIS_URL (default redis://127.0.0.1:6379/0).
"""

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import random
import runpy
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from harness import (
    PROJECT_ROOT,
    ScratchDatabase,
    free_port,
    percentile,
    redis_answers,
    start_gunicorn,
    stop_processes,
    verdict,
    widget_tenant,
)

POSTGRES_DATABASE = ScratchDatabase("followup_widget_load")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

MODEL_DELAY_S = 1.5
TARGET_MARGIN_S = 0.5
RAMP_S = 10.0
THINK_S = (4.0, 8.0)
WARM_UP_VISITORS = 20
REQUEST_TIMEOUT_S = 120
ORIGIN = "https://shop.example"
UNLIMITED = "1000000 per minute"
WIDGET_LIMIT_KEYS = (
    "WIDGET_SESSIONS_LIMIT_PER_IP",
    "WIDGET_MESSAGES_LIMIT_PER_SESSION",
    "WIDGET_MESSAGES_LIMIT_PER_IP",
)


# ---------------------------------------------------------------- the served app


def bench_app():
    """The real app, configured from the environment this script sets (gunicorn loads it)."""
    from followup.factory import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": os.environ["BENCH_DATABASE_URL"],
            "OPENAI_BASE_URL": os.environ["BENCH_OPENAI_BASE_URL"],
            "OPENAI_API_KEY": "bench",
            "LLM_TIMEOUT_S": float(REQUEST_TIMEOUT_S),  # the held answers must not time out
            "RATELIMIT_STORAGE_URI": os.environ["BENCH_RATELIMIT_STORAGE_URI"],
            "RATELIMIT_KEY_PREFIX": os.environ["BENCH_RATELIMIT_KEY_PREFIX"],
        }
        | dict.fromkeys(WIDGET_LIMIT_KEYS, UNLIMITED)
    )


# ---------------------------------------------------------------- memory


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def web_cpu_s(master_pid: int) -> float:
    """CPU seconds (user and system) spent so far by gunicorn's master and its workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in [master_pid, *_children(master_pid)]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def web_rss_kb(master_pid: int) -> int:
    """RSS of gunicorn's master and its workers, in KiB."""
    return sum(_rss_kb(pid) for pid in [master_pid, *_children(master_pid)])


# ---------------------------------------------------------------- the visitors


@dataclass
class Results:
    first_token_s: list[float] = field(default_factory=list)
    errors: collections.Counter = field(default_factory=collections.Counter)
    turns: int = 0
    server_cpu_s: float = 0.0


class Visitor:
    """A custom widget UI on the JSON API: a session, then streamed turns."""

    def __init__(self, http: aiohttp.ClientSession, base: str, public_key: str):
        self.http, self.base, self.public_key = http, base, public_key
        self.chat_id: int | None = None
        self.token: str | None = None

    async def open_session(self) -> None:
        url = f"{self.base}/api/widget/v1/{self.public_key}/sessions"
        async with self.http.post(url, json={}, headers={"Origin": ORIGIN}) as response:
            if response.status != 201:
                raise RuntimeError(f"sessions answered {response.status}")
            data = await response.json()
        self.chat_id, self.token = data["chat_id"], data["session_token"]

    async def turn(self, text: str, on_first_token=None) -> float:
        """Seconds from sending `text` to its first token; reads the answer to its end."""
        url = f"{self.base}/api/widget/v1/chats/{self.chat_id}/messages"
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "text/event-stream",
            "Origin": ORIGIN,
        }
        started = time.perf_counter()
        first_token = None
        async with self.http.post(
            url,
            data=json.dumps({"text": text}),
            headers=headers | {"Content-Type": "application/json"},
        ) as response:
            if response.status != 200:
                raise RuntimeError(f"messages answered {response.status}")
            async for line in response.content:
                if first_token is None and line.startswith(b"event: token"):
                    first_token = time.perf_counter() - started
                    if on_first_token:
                        on_first_token()
                elif line.startswith(b"event: error"):
                    raise RuntimeError("the stream sent an error event")
                elif line.startswith(b"event: done"):
                    if first_token is None:
                        raise RuntimeError("the stream ended without a token")
                    return first_token
        raise RuntimeError("the stream ended without done")


def _client_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        # A connection per request, as visitors seconds apart get (gunicorn keeps an idle
        # one 2 s): reusing one the server is closing would count its race as our error.
        connector=aiohttp.TCPConnector(limit=0, force_close=True),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
    )


async def _one_visit(
    visitor: Visitor, results: Results, start_in_s: float, messages: int, rng: random.Random
) -> None:
    await asyncio.sleep(start_in_s)
    try:
        await visitor.open_session()
        for n in range(messages):
            results.turns += 1
            results.first_token_s.append(await visitor.turn(f"Question {n} about my order"))
            if n + 1 < messages:
                await asyncio.sleep(rng.uniform(*THINK_S))
    except (aiohttp.ClientError, RuntimeError, TimeoutError) as exc:
        results.errors[f"{type(exc).__name__}: {exc}"[:120]] += 1


async def chat_load(base: str, public_key: str, visitors: int, messages: int) -> Results:
    rng = random.Random(12)  # arrival and thinking times: the same each run
    results = Results()
    async with _client_session() as http:
        await asyncio.gather(
            *(
                _one_visit(
                    Visitor(http, base, public_key), results, rng.uniform(0, RAMP_S), messages, rng
                )
                for _ in range(visitors)
            )
        )
    return results


async def idle_streams(base: str, public_key: str, count: int, held, measure) -> Results:
    """Open `count` streams that the model holds (`held()` says how many it holds), call
    `measure()` with them all open, which lets the model answer; the streams' errors."""
    results = Results()
    async with _client_session() as http:
        visitors = [Visitor(http, base, public_key) for _ in range(count)]
        await asyncio.gather(*(v.open_session() for v in visitors))
        turns = [asyncio.ensure_future(v.turn("Are you open today?")) for v in visitors]
        while held() < count and not any(t.done() for t in turns):
            await asyncio.sleep(0.05)
        results.turns = held()  # the streams open at the measure
        measure()
        for outcome in await asyncio.gather(*turns, return_exceptions=True):
            if isinstance(outcome, BaseException):
                results.errors[f"idle stream: {type(outcome).__name__}: {outcome}"[:120]] += 1
    return results


# ---------------------------------------------------------------- the run


def serving_label(args: argparse.Namespace) -> str:
    served = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    workers = args.workers or served["workers"]
    threads = args.threads or served["threads"]
    source = "overridden" if args.workers or args.threads else "gunicorn.conf.py"
    return f"gunicorn {served['worker_class']} {workers} workers x {threads} threads ({source})"


class FakeModel:
    """The fake OpenAI server in a process of its own: its hundreds of threads must not
    share a GIL with the client, whose clock measures the first tokens. While `hold` is
    set it keeps each answer until `release` is set; `received` counts requests."""

    def __init__(self):
        context = multiprocessing.get_context("fork")
        self.received = context.Value("i", 0)
        self.hold, self.release = context.Event(), context.Event()
        urls = context.SimpleQueue()
        self.process = context.Process(
            target=_serve_fake_model,
            args=(urls, self.received, self.hold, self.release),
            daemon=True,
        )
        self.process.start()
        self.base_url = urls.get()

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=10)


def _serve_fake_model(urls, received, hold, release) -> None:
    from tests.fakes.openai_server import FakeOpenAI

    def on_request(_body: dict) -> None:
        with received.get_lock():
            received.value += 1
        if hold.is_set():
            release.wait(timeout=REQUEST_TIMEOUT_S)

    fake = FakeOpenAI().start()
    fake.behaviour.first_token_delay_s = MODEL_DELAY_S
    fake.behaviour.on_request = on_request
    urls.put(fake.base_url)
    threading.Event().wait()  # until terminated


def run(args: argparse.Namespace, database_url: str, visitors: int, messages: int) -> bool:
    public_key = widget_tenant(database_url, "load", ORIGIN)
    fake = FakeModel()
    storage = REDIS_URL if redis_answers(REDIS_URL) else "memory://"
    port = free_port()
    server = start_gunicorn(
        "widget_load:bench_app()",
        port,
        {
            "BENCH_DATABASE_URL": database_url,
            "BENCH_OPENAI_BASE_URL": fake.base_url,
            "BENCH_RATELIMIT_STORAGE_URI": storage,
            "BENCH_RATELIMIT_KEY_PREFIX": f"widget-load-{os.getpid()}",
        },
        workers=args.workers,
        threads=args.threads,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        warm = asyncio.run(chat_load(base, public_key, WARM_UP_VISITORS, 1))
        if warm.errors:
            raise RuntimeError(f"the warm-up failed: {dict(warm.errors)}")
        rss_none = web_rss_kb(server.pid)
        rss_open = {}
        fake.hold.set()
        already = fake.received.value
        idle = asyncio.run(
            idle_streams(
                base,
                public_key,
                visitors,
                held=lambda: fake.received.value - already,
                measure=lambda: (rss_open.update(kb=web_rss_kb(server.pid)), fake.release.set()),
            )
        )
        fake.hold.clear()
        cpu_before = web_cpu_s(server.pid)
        results = asyncio.run(chat_load(base, public_key, visitors, messages))
        results.server_cpu_s = web_cpu_s(server.pid) - cpu_before
    finally:
        stop_processes([server])
        fake.stop()
    return report(args, visitors, messages, results, rss_none, rss_open["kb"], idle, storage)


def report(
    args: argparse.Namespace,
    visitors: int,
    messages: int,
    results: Results,
    rss_none: int,
    rss_open: int,
    idle: Results,
    storage: str,
) -> bool:
    errors = sum(results.errors.values())
    idle_failed = sum(idle.errors.values())
    target_s = MODEL_DELAY_S + TARGET_MARGIN_S
    times = sorted(results.first_token_s) or [float("inf")]
    p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
    passed = errors == 0 and idle_failed == 0 and p95 <= target_s
    print(
        f"\nWidget load: {visitors} visitors x {messages} messages ({results.turns} turns) "
        f"arriving over {RAMP_S:.0f} s, thinking {THINK_S[0]:.0f}-{THINK_S[1]:.0f} s; model "
        f"first token after {MODEL_DELAY_S} s; database {args.database}; rate limits in "
        f"{'Redis' if storage != 'memory://' else 'memory'}; {serving_label(args)}"
    )
    print(f"  errors: {errors}" + (f" (and {idle_failed} idle streams)" if idle_failed else ""))
    for reason, count in (results.errors + idle.errors).most_common(5):
        print(f"    {count} x {reason}")
    print(f"  first token p50 {p50:.2f} s  p95 {p95:.2f} s  max {times[-1]:.2f} s")
    per_stream_kb = (rss_open - rss_none) / max(1, idle.turns)
    print(
        f"  memory per idle stream: {per_stream_kb:.0f} KiB (web processes' RSS "
        f"{rss_none / 1024:.0f} MiB with none open, {rss_open / 1024:.0f} MiB with "
        f"{idle.turns} idle streams)"
    )
    print(
        f"  server CPU per turn: {results.server_cpu_s / max(1, results.turns) * 1000:.1f} ms "
        "(gunicorn's processes, sessions included)"
    )
    print("  load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"  target: 0 errors, first token p95 <= {target_s:.1f} s: {verdict(passed)}")
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--workers", type=int, help="override gunicorn.conf.py's workers")
    parser.add_argument("--threads", type=int, help="override gunicorn.conf.py's threads")
    args = parser.parse_args()
    visitors = int(os.environ.get("BENCH_VISITORS", "500"))
    messages = int(os.environ.get("BENCH_MESSAGES", "3"))
    if visitors < 1 or messages < 1:
        parser.error("BENCH_VISITORS and BENCH_MESSAGES must be at least 1")
    sys.stdout.reconfigure(line_buffering=True)

    with POSTGRES_DATABASE.for_run(args.database, "widget-load-") as database_url:
        passed = run(args, database_url, visitors, messages)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
