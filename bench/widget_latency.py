"""Benchmark: time to the first streamed token through our widget API vs the LLM directly.

    .venv/bin/python bench/widget_latency.py [--turns 300] [--database sqlite|postgresql]

1. Starts the fake OpenAI server (tests/fakes/openai_server.py) on 127.0.0.1 with
   a first-token delay of 20 ms, as a hosted model has at best.
2. Creates a database of its own (a SQLite file in a temporary directory, or the
   PostgreSQL database `followup_widget_bench`), migrates it and adds a tenant.
3. Serves the real app with gunicorn (gthread, 1 worker x 4 threads) on a free
   127.0.0.1 port. Rate limits count in Redis as in production (an in-memory
   store if Redis does not answer), under a key prefix of this run, with budgets
   large enough for it.
4. For every turn, in alternating order:
   (a) direct: the OpenAI SDK, `stream=True`, from the call to the first chunk
       that carries text;
   (b) through us: `POST /api/widget/v1/chats/<id>/messages` with
       `Accept: text/event-stream` (and an allowed Origin, as a browser sends it),
       from sending the request to the first byte of the first `event: token`.
       It includes everything our server does first: rate limits, the session
       token, CORS, saving the customer's message, loading the chat's history and
       opening the model's stream.
   A new chat every 10 turns keeps the histories the length of real chats.

Overhead = (b) - (a) of the same turn. Target: overhead p50 <= 10 ms. Prints
p50/p95 of (a), (b) and the overhead, then PASS or FAIL (exit code 0 or 1).
Environment: BENCH_POSTGRES_ADMIN_URL (default the local server's `postgres`
database), BENCH_REDIS_URL (default redis://127.0.0.1:6379/0).
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time

from harness import (
    ScratchDatabase,
    free_port,
    percentile,
    redis_answers,
    start_gunicorn,
    stop_processes,
    verdict,
    widget_tenant,
)

POSTGRES_DATABASE = ScratchDatabase("followup_widget_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

FIRST_TOKEN_DELAY_S = 0.020
WARM_UP_TURNS = 20
TURNS_PER_CHAT = 10
OVERHEAD_P50_TARGET_MS = 10.0
ORIGIN = "https://shop.example"
MODEL = "gpt-4o-mini"
# The benchmark sends every turn from one address; no budget may get in the way.
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
            "OPENAI_MODEL": MODEL,
            "LLM_TIMEOUT_S": 10.0,
            "RATELIMIT_STORAGE_URI": os.environ["BENCH_RATELIMIT_STORAGE_URI"],
            "RATELIMIT_KEY_PREFIX": os.environ["BENCH_RATELIMIT_KEY_PREFIX"],
        }
        | dict.fromkeys(WIDGET_LIMIT_KEYS, UNLIMITED)
    )


# ---------------------------------------------------------------- database


# ---------------------------------------------------------------- server


def start_server(port: int, env: dict[str, str]) -> subprocess.Popen:
    return start_gunicorn("widget_latency:bench_app()", port, env, workers=1, threads=4)


# ---------------------------------------------------------------- the two clients


class WidgetClient:
    """A custom widget UI: one keep-alive connection, one chat at a time."""

    def __init__(self, port: int, public_key: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.public_key = public_key
        self.chat_id: int | None = None
        self.token: str | None = None

    def _send(self, path: str, body: dict, headers: dict) -> http.client.HTTPResponse:
        payload = json.dumps(body)
        headers = {"Content-Type": "application/json", "Origin": ORIGIN} | headers
        self.connection.request("POST", path, body=payload, headers=headers)
        return self.connection.getresponse()

    def new_chat(self) -> None:
        response = self._send(f"/api/widget/v1/{self.public_key}/sessions", {}, {})
        data = json.loads(response.read())
        if response.status != 201:
            raise RuntimeError(f"sessions answered {response.status}: {data}")
        self.chat_id, self.token = data["chat_id"], data["session_token"]

    def first_token_ms(self, text: str) -> float:
        """Milliseconds from sending the turn to the first byte of its first token event."""
        path = f"/api/widget/v1/chats/{self.chat_id}/messages"
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        started = time.perf_counter()
        response = self._send(path, {"text": text}, headers)
        if response.status != 200:
            raise RuntimeError(f"messages answered {response.status}: {response.read()[:300]!r}")
        received = b""
        while b"event: token" not in received:
            piece = response.read1(65536)
            if not piece:
                raise RuntimeError(f"the stream ended without a token: {received[:300]!r}")
            received += piece
        elapsed_ms = (time.perf_counter() - started) * 1000
        received += response.read()  # the rest of the turn, so the connection is free again
        if b"event: done" not in received:
            raise RuntimeError(f"the stream did not finish: {received[-300:]!r}")
        return elapsed_ms

    def close(self) -> None:
        self.connection.close()


def direct_first_token_ms(client, text: str) -> float:
    """Milliseconds from the SDK call to the first chunk that carries text."""
    messages = [
        {"role": "system", "content": "You are Alex, Customer support assistant at Bench Co."},
        {"role": "user", "content": text},
    ]
    started = time.perf_counter()
    elapsed_ms = None
    # Read to the end, as our server does: the fake model then finishes cleanly.
    for chunk in client.chat.completions.create(model=MODEL, messages=messages, stream=True):
        if elapsed_ms is None and any(choice.delta.content for choice in chunk.choices):
            elapsed_ms = (time.perf_counter() - started) * 1000
    if elapsed_ms is None:
        raise RuntimeError("the fake model sent no text")
    return elapsed_ms


# ---------------------------------------------------------------- measuring


def measure(widget: WidgetClient, sdk, turns: int) -> tuple[list[float], list[float]]:
    """(direct, through us) in ms for each turn, alternating which goes first."""
    direct, ours = [], []
    for turn in range(turns):
        if turn % TURNS_PER_CHAT == 0:
            widget.new_chat()
        text = f"What are your opening hours on day {turn}?"
        if turn % 2:
            ours.append(widget.first_token_ms(text))
            direct.append(direct_first_token_ms(sdk, text))
        else:
            direct.append(direct_first_token_ms(sdk, text))
            ours.append(widget.first_token_ms(text))
    return direct, ours


def report(direct: list[float], ours: list[float], database: str, storage: str) -> bool:
    overhead = [o - d for o, d in zip(ours, direct, strict=True)]
    rows = [("direct (SDK)", direct), ("through us (SSE)", ours), ("overhead", overhead)]
    p50 = statistics.median(overhead)
    passed = p50 <= OVERHEAD_P50_TARGET_MS
    print(
        f"\nWidget time to first token, {len(direct)} turns; fake LLM first-token delay "
        f"{FIRST_TOKEN_DELAY_S * 1000:.0f} ms; database {database}; rate limits in {storage}; "
        "gunicorn gthread 1 worker x 4 threads"
    )
    print(f"  {'':18} {'p50':>9} {'p95':>9} {'max':>9}")
    for label, values in rows:
        print(
            f"  {label:18} {statistics.median(values):6.2f} ms "
            f"{percentile(values, 0.95):6.2f} ms {max(values):6.2f} ms"
        )
    # The machine's load says how much of the spread is other work sharing the CPU.
    print("  load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"  target overhead p50 <= {OVERHEAD_P50_TARGET_MS:.0f} ms: {verdict(passed)}")
    return passed


def run(args: argparse.Namespace, database_url: str) -> bool:
    import openai

    from tests.fakes.openai_server import FakeOpenAI

    public_key = widget_tenant(database_url, "bench", ORIGIN)
    fake = FakeOpenAI().start()
    fake.behaviour.first_token_delay_s = FIRST_TOKEN_DELAY_S
    storage = REDIS_URL if redis_answers(REDIS_URL) else "memory://"
    port = free_port()
    server = start_server(
        port,
        {
            "BENCH_DATABASE_URL": database_url,
            "BENCH_OPENAI_BASE_URL": fake.base_url,
            "BENCH_RATELIMIT_STORAGE_URI": storage,
            "BENCH_RATELIMIT_KEY_PREFIX": f"widget-bench-{os.getpid()}",
        },
    )
    widget = WidgetClient(port, public_key)
    sdk = openai.OpenAI(base_url=fake.base_url, api_key="bench", max_retries=0, timeout=10)
    try:
        measure(widget, sdk, WARM_UP_TURNS)  # connections, imports, caches
        direct, ours = measure(widget, sdk, args.turns)
    finally:
        widget.close()
        sdk.close()
        stop_processes([server])
        fake.stop()
    return report(direct, ours, args.database, "Redis" if storage != "memory://" else "memory")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300, help="measured turns (at least 200)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    if not 200 <= args.turns <= 10_000:
        parser.error("--turns must be from 200 to 10000")
    sys.stdout.reconfigure(line_buffering=True)  # keep our lines in order with the server's

    with POSTGRES_DATABASE.for_run(args.database, "widget-bench-") as database_url:
        passed = run(args, database_url)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
