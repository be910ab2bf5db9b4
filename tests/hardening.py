"""Raw HTTP and websocket-upgrade requests with chosen Host/Origin/Cookie headers (for serve tests)."""

from __future__ import annotations

import http.client

WS_HEADERS = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


def request(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, body: str | None = None
) -> tuple[http.client.HTTPResponse, bytes]:
    """One request to 127.0.0.1:port; a ``Host`` in ``headers`` replaces the real one."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def websocket_status(port: int, headers: dict[str, str]) -> int:
    """Status of a websocket upgrade of /ws (101 accepted) with these extra headers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/ws", headers={**WS_HEADERS, **headers})
        return conn.getresponse().status
    finally:
        conn.close()
