"""--offline: connections fail inside the guard and work again after it."""

from __future__ import annotations

import socket

import pytest

from scanner.core.offline import NetworkBlockedError, network_blocked


def test_connections_refused_inside_and_restored_after() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with network_blocked(), pytest.raises(NetworkBlockedError, match="offline mode"):
            socket.create_connection(("127.0.0.1", port), timeout=1)
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass


def _fail_inside_guard(before: object) -> None:
    with network_blocked():
        assert socket.socket.connect is not before
        raise RuntimeError("boom")


def test_guard_is_lifted_after_an_error() -> None:
    before = (socket.socket.connect, socket.socket.connect_ex)
    with pytest.raises(RuntimeError, match="boom"):
        _fail_inside_guard(before[0])
    assert (socket.socket.connect, socket.socket.connect_ex) == before
