"""A Redis server of a test's own (`redis-server` on a free port, nothing saved to disk),
for tests that restart Redis empty: stopping it loses every job and key, as a restart
without persistence does."""

import socket
import subprocess
from dataclasses import dataclass, field

import redis

from tests.helpers.jobs import wait_for

# Nothing saved or loaded: a restart starts empty.
SERVER_COMMAND = ("redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PrivateRedis:
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        self.process = subprocess.Popen(
            [*SERVER_COMMAND, "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart_empty(self) -> None:
        self.stop()
        self.start()

    def _answers(self) -> bool:
        try:
            with redis.Redis.from_url(self.url, socket_connect_timeout=0.2) as connection:
                return bool(connection.ping())
        except redis.RedisError:
            return False
