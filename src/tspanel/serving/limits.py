"""Connection limits: header/idle timeouts and a cap on open HTTP connections per process.

Why: Tornado waits an hour for a request's headers by default and accepts connections until
the process runs out of file descriptors; there the accept loop spins and logs a traceback per
attempt, and nobody is served. A client that opens connections and never finishes a request
costs nothing to keep that up. With a header timeout a half-open request is closed after a
few seconds; with a cap, a flood is answered with a quick 503 instead of exhausting descriptors.
A reverse proxy in front (docs/security.md) adds per-client limits, which a single process
cannot judge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from tornado.iostream import IOStream, StreamClosedError

from tspanel.serving.guard import EveryInterval

log = logging.getLogger("tspanel.serve")

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 60.0
DEFAULT_MAX_CONNECTIONS = 1000
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 35\r\n"
    b"Retry-After: 10\r\nConnection: close\r\n\r\nserver busy: too many connections\r\n"
)


@dataclass(frozen=True)
class Limits:
    """``header_timeout``: seconds to receive a request's headers, and to keep an idle connection.

    ``body_timeout``: seconds to receive a request body. ``max_connections``: open HTTP
    connections per process (websockets, once upgraded, are not counted: each is a session,
    bounded by memory rather than descriptors).
    """

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def http_server_kwargs(self) -> dict[str, Any]:
        """What Bokeh's ``Server(http_server_kwargs=...)`` hands to Tornado's ``HTTPServer``."""
        return {"idle_connection_timeout": self.header_timeout, "body_timeout": self.body_timeout}


class ConnectionCap:
    """Counts the HTTP server's open connections and turns new ones away above the cap."""

    def __init__(self, http_server: Any, limit: int, throttle: EveryInterval | None = None):
        self.limit = limit
        self.open = 0
        self.throttle = throttle or EveryInterval()
        self._handle_stream = http_server.handle_stream
        self._on_close = http_server.on_close
        http_server.handle_stream = self.handle_stream
        http_server.on_close = self.on_close

    def handle_stream(self, stream: IOStream, address: Any) -> None:
        if self.open >= self.limit:
            self._refuse(stream)
            return
        self.open += 1
        self._handle_stream(stream, address)

    def on_close(self, server_conn: Any) -> None:
        """Tornado calls this when a connection closes or is handed over to a websocket."""
        self.open -= 1
        self._on_close(server_conn)

    def _refuse(self, stream: IOStream) -> None:
        held = self.throttle("overload")
        if held is not None:
            more = f"; {held} more refused since the last message" if held else ""
            log.warning(
                "overloaded: %d HTTP connections open (--max-connections %d); answering new ones "
                "with 503%s. If this is not expected traffic, see docs/security.md (reverse proxy).",
                self.open,
                self.limit,
                more,
            )
        try:
            stream.write(_BUSY).add_done_callback(lambda done: (done.exception(), stream.close()))
        except StreamClosedError:  # the client went away already: nothing to tell it
            stream.close()


def install(server: Any, limits: Limits) -> ConnectionCap:
    """Cap the connections of a Bokeh ``Server`` (its timeouts are set when it is built)."""
    return ConnectionCap(server._http, limits.max_connections)
