"""A real SMTP server (aiosmtpd) on a free 127.0.0.1 port, for tests and benchmarks.

Every accepted message is parsed and kept in `messages`, with the time the server
answered "250" (`accepted_at`, `time.time()`). `stop()` and `start()` again on the
same port simulate the mail server going down and coming back; `accept_delay_s`
makes each acceptance slow (so a test can kill a worker mid-send).

Refusals as a real server words them: `credentials` (login, password) is the only
login it accepts (AUTH is offered without TLS, and a client that does not log in is
let through); `refused_recipients` maps an address to the reply its RCPT TO gets;
`data_reply` replaces the "250" answer to every message. `FakeSmtp(tls=True)` offers
STARTTLS with a self-signed certificate made at start (Flask-Mail's STARTTLS does not
verify the server's certificate).
"""

import asyncio
import email
import email.policy
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.helpers.tls import write_self_signed

HOST = "127.0.0.1"


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    accepted_at: float

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]

    def part(self, subtype: str) -> str:
        """The text of the text/plain or text/html part."""
        return self.message.get_body(preferencelist=(subtype,)).get_content()


def _self_signed_context() -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for HOST."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as folder:
        context.load_cert_chain(*write_self_signed(Path(folder), HOST))
    return context


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class FakeSmtp:
    port: int = field(default_factory=_free_port)
    tls: bool = False
    accept_delay_s: float = 0.0
    credentials: tuple[str, str] | None = None
    refused_recipients: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    messages: list[ReceivedMail] = field(default_factory=list)
    _controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> "FakeSmtp":
        # A new controller each time: a stopped one has closed its event loop.
        self._controller = Controller(
            _Handler(self),
            hostname=HOST,
            port=self.port,
            authenticator=self._authenticate,
            auth_require_tls=False,
            tls_context=_self_signed_context() if self.tls else None,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
        self.accept_delay_s = 0.0
        self.credentials = None
        self.refused_recipients = {}
        self.data_reply = None

    def _authenticate(self, _server, _session, _envelope, _mechanism, auth_data) -> AuthResult:
        given = (
            (auth_data.login.decode(), auth_data.password.decode())
            if isinstance(auth_data, LoginPassword)
            else None
        )
        # Not handled: the server answers a refusal itself (535).
        return AuthResult(success=given is not None and given == self.credentials, handled=False)

    def received(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self.messages)

    def record(self, envelope) -> None:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        mail = ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message, time.time())
        with self._lock:
            self.messages.append(mail)


class _Handler:
    def __init__(self, owner: FakeSmtp):
        self.owner = owner

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        refusal = self.owner.refused_recipients.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.owner.data_reply:
            return self.owner.data_reply
        if self.owner.accept_delay_s:
            await asyncio.sleep(self.owner.accept_delay_s)
        self.owner.record(envelope)
        return "250 Message accepted for delivery"
