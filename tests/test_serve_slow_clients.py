"""Connection exhaustion (issue 18, item 3): half-open requests are closed, others are still served.

A real `tspanel serve` on 127.0.0.1 with a 2 s header timeout. Before issue 18, Tornado waited
an hour for a request's headers, so held-open connections were never closed. Bounded: 300
sockets, about 10 s; loopback only.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from hardening import request
from serving import free_port, serving

pytestmark = pytest.mark.slow

HALF_OPEN = 300
TIMEOUT = 2.0  # --header-timeout for the test server


def _half_open(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that each send the start of a request and never finish its headers."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode())
        socks.append(sock)
    return socks


def _closed_by_server(sock: socket.socket) -> bool:
    """The server closed this connection (EOF or reset), without waiting."""
    sock.setblocking(False)
    try:
        data = sock.recv(4096)
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)
    return data == b"" or data.startswith(b"HTTP/1.1 408")


def test_half_open_requests_are_closed_and_a_normal_request_is_served_throughout(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with serving(["--header-timeout", str(TIMEOUT)], port, log):
        socks = _half_open(port, HALF_OPEN)
        try:
            served = []
            closed: set[int] = set()
            deadline = time.monotonic() + TIMEOUT + 20  # generous: the machine is shared
            while len(closed) < HALF_OPEN and time.monotonic() < deadline:
                response, _ = request(port, "GET", "/favicon.ico")
                served.append(response.status)
                closed |= {i for i, sock in enumerate(socks) if i not in closed and _closed_by_server(sock)}
                time.sleep(0.25)
            assert len(closed) == HALF_OPEN, f"{HALF_OPEN - len(closed)} half-open connections still open"
            assert len(served) >= 4 and set(served) == {200}
        finally:
            for sock in socks:
                sock.close()
        assert request(port, "GET", "/favicon.ico")[0].status == 200
    assert "Traceback" not in log.read_text()


def test_connections_over_the_cap_get_a_quick_503_and_one_log_line(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    # A long header timeout: the 50 held connections must still be open while the others knock.
    with serving(["--header-timeout", "60", "--max-connections", "50"], port, log):
        # The start-up probe's connection (tests/serving.py) is still counted until the server
        # has seen it close; give it a moment, so the 50 below fill every place.
        time.sleep(1.0)
        socks = _half_open(port, 50)
        try:
            time.sleep(1.0)  # let the server accept them
            over = []
            for _ in range(30):
                with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                    over.append(sock.recv(64))
            assert all(reply.startswith(b"HTTP/1.1 503") for reply in over), over[:3]
        finally:
            for sock in socks:
                sock.close()
        # Once those connections are gone, requests are served again.
        deadline = time.monotonic() + 30
        while request(port, "GET", "/favicon.ico")[0].status != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert request(port, "GET", "/favicon.ico")[0].status == 200
    text = log.read_text()
    assert text.count("overloaded: 50 HTTP connections open (--max-connections 50)") == 1
    assert "Traceback" not in text
