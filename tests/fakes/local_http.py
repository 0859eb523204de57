"""Serving a fake provider's HTTP handler on a free 127.0.0.1 port in a background thread."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(handler: type[BaseHTTPRequestHandler], owner: object) -> ThreadingHTTPServer:
    """Start `handler` (which reads its fake through `owner`) and return the server."""
    bound = type(handler.__name__, (handler,), {"owner": owner})
    server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop(server: ThreadingHTTPServer | None) -> None:
    if server:
        server.shutdown()
        server.server_close()
