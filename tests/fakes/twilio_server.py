"""A local server that speaks Twilio's Messages API, for tests and benchmarks.

The real `twilio` SDK talks HTTP to it (`TWILIO_API_BASE`):

    POST /2010-04-01/Accounts/<AccountSid>/Messages.json
    Authorization: Basic <AccountSid:AuthToken>
    To=…&From=…&Body=…

answers 201 with a Twilio-shaped message resource (a fresh `SM…` SID), or Twilio's
error JSON: 401 for wrong credentials, 400 for a missing field, 404 for another
path. `GET /2010-04-01/Accounts/<AccountSid>.json` (the SDK's account fetch) answers
the account resource with `account_status` ("active" unless a test says otherwise),
401 for wrong credentials. `fail_next(n, status)` makes the next n requests fail
with `status` (500 by default); `refuse_number(number, code, message)` answers 400
with that Twilio error for texts to `number`; `hold_answers()` keeps every answer
back until `reset()` (a Twilio that does not answer in time); `hold_next(accept)`
keeps the next request open until its `released` is set, and then either drops it
unanswered and unrecorded (`accept=False`: the sender died before Twilio took it)
or, having taken the message at once, answers it only then (`accept=True`: the
sender died before it heard the SID). Accepted messages are kept in `messages`,
every request in `requests`.
"""

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from tests.fakes import local_http

API_VERSION = "2010-04-01"
# A held request is let go after this long even if the test never releases it.
HOLD_LIMIT_S = 60.0


@dataclass
class SentSms:
    sid: str
    to: str
    from_: str
    body: str


@dataclass
class HeldRequest:
    accept: bool
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "test-auth-token"
    account_status: str = "active"
    messages: list[SentSms] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    _failures: list[int | None] = field(default_factory=list)  # None: passes
    _refused_numbers: dict[str, tuple[int, str]] = field(default_factory=dict)
    _answering: threading.Event = field(default_factory=threading.Event)
    _holds: list[HeldRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._answering.set()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, count: int, status: int = 500, after: int = 0) -> None:
        """The next `count` requests fail with `status`, once `after` more have passed."""
        with self._lock:
            self._failures.extend([None] * after + [status] * count)

    def refuse_number(self, number: str, code: int, message: str) -> None:
        with self._lock:
            self._refused_numbers[number] = (code, message)

    def hold_next(self, accept: bool) -> HeldRequest:
        hold = HeldRequest(accept)
        with self._lock:
            self._holds.append(hold)
        return hold

    def take_hold(self) -> HeldRequest | None:
        with self._lock:
            return self._holds.pop(0) if self._holds else None

    def hold_answers(self) -> None:
        self._answering.clear()

    def wait_until_answering(self, timeout_s: float = 30.0) -> None:
        self._answering.wait(timeout_s)

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.requests.clear()
            self._failures.clear()
            self._refused_numbers.clear()
            self.account_status = "active"
            holds, self._holds = self._holds, []
        for hold in holds:
            hold.released.set()
        self._answering.set()

    def start(self) -> "FakeTwilio":
        self.server = local_http.serve(_Handler, self)
        return self

    def stop(self) -> None:
        local_http.stop(self.server)

    def answer(self, path: str, authorization: str, form: dict[str, str]) -> tuple[int, dict]:
        """The status and JSON body Twilio would answer with (and record the message)."""
        with self._lock:
            self.requests.append({"path": path, "form": form})
            forced = self._failures.pop(0) if self._failures else None
        messages_path = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        if path != messages_path:
            return 404, _error(20404, "The requested resource was not found", 404)
        if authorization != _basic(self.account_sid, self.auth_token):
            return 401, _error(20003, "Authenticate", 401)
        if forced is not None:
            return forced, _error(20500, "Internal Server Error", forced)
        for name, code in (("To", 21604), ("From", 21603), ("Body", 21602)):
            if not form.get(name):
                return 400, _error(code, f"A '{name}' parameter is required.", 400)
        with self._lock:
            refusal = self._refused_numbers.get(form["To"])
        if refusal is not None:
            return 400, _error(*refusal, 400)
        sms = SentSms("SM" + secrets.token_hex(16), form["To"], form["From"], form["Body"])
        with self._lock:
            self.messages.append(sms)
        return 201, self._resource(sms)

    def account(self, path: str, authorization: str) -> tuple[int, dict]:
        """The status and JSON body of Twilio's answer to an account fetch."""
        with self._lock:
            self.requests.append({"path": path, "form": {}})
            forced = self._failures.pop(0) if self._failures else None
        if path != f"/{API_VERSION}/Accounts/{self.account_sid}.json":
            return 404, _error(20404, "The requested resource was not found", 404)
        if authorization != _basic(self.account_sid, self.auth_token):
            return 401, _error(20003, "Authenticate", 401)
        if forced is not None:
            return forced, _error(20500, "Internal Server Error", forced)
        now = formatdate(usegmt=True)
        return 200, {
            "auth_token": self.auth_token,
            "date_created": now,
            "date_updated": now,
            "friendly_name": "Test account",
            "owner_account_sid": self.account_sid,
            "sid": self.account_sid,
            "status": self.account_status,
            "subresource_uris": {},
            "type": "Full",
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}.json",
        }

    def _resource(self, sms: SentSms) -> dict:
        now = formatdate(usegmt=True)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sms.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": sms.body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sms.from_,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sms.sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": sms.to,
            "uri": f"{uri}.json",
        }


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _error(code: int, message: str, status: int) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class _Handler(BaseHTTPRequestHandler):
    owner: FakeTwilio

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        form = {name: values[0] for name, values in parse_qs(raw).items()}
        self.owner.wait_until_answering()
        hold = self.owner.take_hold()
        if hold is not None and not hold.accept:
            hold.arrived.set()
            hold.released.wait(HOLD_LIMIT_S)
            self.close_connection = True  # never taken, never answered
            return
        status, body = self.owner.answer(self.path, self.headers.get("Authorization", ""), form)
        if hold is not None:
            hold.arrived.set()
            hold.released.wait(HOLD_LIMIT_S)
        self._answer(status, body)

    def do_GET(self) -> None:
        self.owner.wait_until_answering()
        self._answer(*self.owner.account(self.path, self.headers.get("Authorization", "")))

    def _answer(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the sender is gone (a test killed it while held)
            self.close_connection = True
