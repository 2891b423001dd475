"""The HTTP plumbing the loopback fakes (Hub, package index) share: bind, track, drain."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

#: How long an idle keep-alive connection is held open by a fake server.
IDLE_CONNECTION_TIMEOUT_S: Final = 30.0
#: Largest request body a fake reads (clients here send none, or small JSON).
MAX_REQUEST_BODY: Final = 1024 * 1024


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP server on 127.0.0.1 at an ephemeral port that can drop its connections."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host (slow, and not loopback)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.socket.getsockname()[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-answer (a test dropping, a size cap hit) is not an error."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def drop_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)


class LoopbackHandler(BaseHTTPRequestHandler):
    """Keep-alive, no Nagle, silent; tracks its connection on a ``LoopbackServer``."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the real clients pool connections
    timeout = IDLE_CONNECTION_TIMEOUT_S
    # Headers and body go out in separate writes: with Nagle on, delayed ACKs add ~40 ms each.
    disable_nagle_algorithm = True
    server: LoopbackServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.track(self.connection, open_=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log; each fake keeps its own record."""

    def drain_request_body(self) -> bool:
        """Read (and drop) the request body; an oversize or unreadable length is a 413."""
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_BODY:
            self.send_error(413)
            self.close_connection = True
            return False
        if length:
            self.rfile.read(length)
        return True
