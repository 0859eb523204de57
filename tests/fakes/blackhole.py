"""A server that accepts every TCP connection on a free 127.0.0.1 port and never says a
word: an SMTP server that sends no greeting, an HTTP API (Twilio, the model) that never
answers. Only a client's own timeout gets it out.

`accepted` counts the connections taken, so a test can tell the client got through to
it (rather than failing to connect at all)."""

import contextlib
import socket
import threading

HOST = "127.0.0.1"


class Blackhole:
    def __init__(self):
        self._listener: socket.socket | None = None
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def accepted(self) -> int:
        with self._lock:
            return len(self._held)

    def start(self) -> "Blackhole":
        listener = socket.create_server((HOST, 0), backlog=64)
        self._listener, self.port = listener, listener.getsockname()[1]
        threading.Thread(target=self._accept_forever, args=(listener,), daemon=True).start()
        return self

    def _accept_forever(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _address = listener.accept()
            except OSError:  # stopped
                return
            with self._lock:
                self._held.append(connection)  # kept open, never read or written

    def reset(self) -> None:
        with self._lock:
            held, self._held = self._held, []
        for connection in held:
            connection.close()

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        self.reset()
