"""Every request's ``Host`` and ``Origin`` are checked against the allowed origins, whatever Tornado does.

Why: Tornado 6.5+ accepts a websocket WITHOUT calling Bokeh's origin check when ``Origin``
equals ``Host`` (or ``Sec-Fetch-Site`` says same-origin/none). A page on ``evil.test`` whose
name is rebound to 127.0.0.1 sends exactly that, so an origin allow-list alone does not
stop DNS rebinding. Checking ``Host`` on every HTTP and websocket request does: the browser
always sends the name it resolved, and a rebound name is never on the list.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from tornado.httputil import HTTPServerRequest
from tornado.web import RequestHandler

log = logging.getLogger("tspanel.serve")

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def _split(netloc: str) -> tuple[str, int | None] | None:
    """(host, port or None) of ``host[:port]``/``[v6][:port]``; None if it is malformed."""
    netloc = netloc.strip().lower()
    if not netloc or any(c.isspace() or c in "/@?#\\" for c in netloc):
        return None
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            return None
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else ""
    else:
        host, _, port_text = netloc.partition(":")
        if ":" in port_text:
            return None
    if not host:
        return None
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        return None
    return host, int(port_text)


class Allowed:
    """The exact ``host:port`` names browsers may use (the checked ``--allow-origin`` values)."""

    def __init__(self, origins: Iterable[str]):
        self.names = {o.lower() for o in origins}

    def host(self, value: str | None) -> bool:
        """A ``Host`` header: exact, or without a port when the name is allowed on 80 or 443.

        A reverse proxy on the standard ports forwards ``Host: dash.example.org``; the scheme
        is not known here, so either default port matches.
        """
        parts = _split(value or "")
        if parts is None:
            return False
        host, port = parts
        ports = (80, 443) if port is None else (port,)
        return any(f"{host}:{p}" in self.names for p in ports)

    def origin(self, value: str) -> bool:
        """An ``Origin`` header (``scheme://host[:port]``): its host:port must be on the list."""
        try:
            url = urlsplit(value.strip())
        except ValueError:
            return False
        if url.scheme not in _DEFAULT_PORTS or url.path not in ("", "/") or url.query or url.username:
            return False
        parts = _split(url.netloc)
        if parts is None:
            return False
        host, port = parts
        return f"{host}:{port or _DEFAULT_PORTS[url.scheme]}" in self.names


class EveryInterval:
    """Let a message through at most once per ``seconds`` and count what was held back.

    Why: a flood of refused requests must not become a flood of log lines (the review saw
    6 MB/s of tracebacks at the descriptor limit).
    """

    def __init__(self, seconds: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self.last: dict[str, float] = {}
        self.held: dict[str, int] = {}

    def __call__(self, key: str) -> int | None:
        """None while quiet; else how many earlier events of ``key`` were held back since the last one."""
        now = self.clock()
        last = self.last.get(key)
        if last is not None and now - last < self.seconds:
            self.held[key] = self.held.get(key, 0) + 1
            return None
        self.last[key] = now
        return self.held.pop(key, 0)


class Refused(RequestHandler):
    """A plain 403 for any method, before any application code or session runs."""

    def initialize(self, reason: str) -> None:
        self.reason = reason

    def prepare(self) -> None:
        self.set_status(403)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"403 Forbidden: {self.reason}\n")


def refusal(request: HTTPServerRequest, allowed: Allowed) -> str | None:
    """Why ``request`` must be refused, or None.

    ``Host`` must be an allowed name on every request. ``Origin``, when a browser sends one
    (websockets always; cross-site and non-GET requests), must be allowed too, compared with
    the list and never with ``Host``. Requests without ``Origin`` come from no web page
    (curl, Bokeh's Python client) or from a top-level navigation, which ``Host`` covers.
    """
    if not allowed.host(request.headers.get("Host")):
        return "this server does not answer to that host name (see --allow-origin)"
    origin = request.headers.get("Origin")
    if origin is not None and not allowed.origin(origin):
        return "requests from that origin are not allowed (see --allow-origin)"
    return None


def install(app: Any, allowed: Allowed, logins: Any = None, throttle: EveryInterval | None = None) -> None:
    """Put the checks in front of the Tornado application's routing (``app.find_handler``).

    Routing is the one place every HTTP request and websocket upgrade passes through, so no
    handler Bokeh or Panel adds later can be reached without it. Past the Host/Origin check,
    a revoked login loses its cookies (``logins``) and the handler is swapped for one that
    sets the security headers (``responses``).
    """
    from tspanel.serving import responses

    throttle = throttle or EveryInterval()
    route = app.find_handler

    def find_handler(request: HTTPServerRequest, **kwargs: Any) -> Any:
        reason = refusal(request, allowed)
        if reason is None:
            if logins is not None:
                logins.admit(request)
            return responses.wrap(route(request, **kwargs), logins)
        held = throttle("refused")
        if held is not None:
            more = f" ({held} more refused since the last message)" if held else ""
            log.warning(
                "refused %s %r from %s: %s%s",
                request.method,
                request.path[:100],
                request.remote_ip,
                reason,
                more,
            )
        return app.get_handler_delegate(request, Refused, {"reason": reason})

    app.find_handler = find_handler
