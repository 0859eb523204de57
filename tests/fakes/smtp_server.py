"""A real SMTP server (aiosmtpd) on a free 127.0.0.1 port, for tests and benchmarks.

Every accepted message is parsed and kept in `messages`, with the time the server
answered "250" (`accepted_at`, `time.time()`). `stop()` and `start()` again on the
same port simulate the mail server going down and coming back; `accept_delay_s`
makes each acceptance slow (so a test can kill a worker mid-send).
"""

import asyncio
import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class FakeSmtp:
    port: int = field(default_factory=_free_port)
    accept_delay_s: float = 0.0
    messages: list[ReceivedMail] = field(default_factory=list)
    _controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> "FakeSmtp":
        # A new controller each time: a stopped one has closed its event loop.
        self._controller = Controller(_Handler(self), hostname=HOST, port=self.port)
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

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.owner.accept_delay_s:
            await asyncio.sleep(self.owner.accept_delay_s)
        self.owner.record(envelope)
        return "250 Message accepted for delivery"
