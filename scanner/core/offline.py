"""``--offline``: a guarantee that nothing opens a network connection while a scan runs."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from scanner.core.errors import UpstreamError


class NetworkBlockedError(UpstreamError, ConnectionRefusedError):
    """Something tried to reach the network in offline mode.

    Also a ConnectionRefusedError, so that networking code cleans up as for a refused connection.
    """


@contextmanager
def network_blocked() -> Iterator[None]:
    """Within the block, every IP connection attempt fails loudly (Unix sockets still work)."""
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def _refuse(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkBlockedError(f"offline mode: refused a connection to {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        _refuse(self, address)
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _refuse(self, address)
        return original_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
