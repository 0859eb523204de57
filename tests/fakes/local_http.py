"""Serving a fake provider's HTTP handler on a free 127.0.0.1 port in a background thread;
and the address of a server that is down."""

import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Hundreds of connections at once (bench/widget_load.py): socketserver's backlog of 5
    # would drop the rest, and each dropped one waits a second to try again.
    request_queue_size = 1024

    def handle_error(self, request, client_address) -> None:
        # The client hung up mid-answer (its timeout, a visitor leaving): expected under
        # test, and not worth a traceback in the output.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(handler: type[BaseHTTPRequestHandler], owner: object) -> ThreadingHTTPServer:
    """Start `handler` (which reads its fake through `owner`) and return the server."""
    bound = type(handler.__name__, (handler,), {"owner": owner})
    server = _Server(("127.0.0.1", 0), bound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop(server: ThreadingHTTPServer | None) -> None:
    if server:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def closed_redis_url() -> str:
    """A Redis URL nobody answers at (Redis is down)."""
    return f"redis://127.0.0.1:{closed_port()}/0"
