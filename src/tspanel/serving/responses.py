"""Every HTTP response gets anti-framing headers and SameSite (and, over HTTPS, Secure) cookies.

Done by subclassing each handler class at routing time, so it covers Panel's and Bokeh's
handlers (page, login, logout, static files) without editing them. Websocket upgrades are
left alone: they set no cookies and are not documents.
"""

from __future__ import annotations

import functools
from typing import Any

from tornado.web import RequestHandler
from tornado.websocket import WebSocketHandler

HEADERS = {
    # No other site may frame the dashboard (clickjacking); CSP for browsers that prefer it.
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'; base-uri 'self'; object-src 'none'; form-action 'self'",
    # Filter values live in the URL: do not hand them to other sites as a referrer.
    "Referrer-Policy": "same-origin",
}


def over_https(request: Any) -> bool:
    """The browser's connection is HTTPS: here, or at a proxy that says so (X-Forwarded-Proto)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.protocol == "https" or forwarded == "https"


class Hardened:
    """Mixed in before a ``RequestHandler`` subclass; ``logins`` is set by ``install``."""

    logins: Any = None

    def set_default_headers(self) -> None:
        super().set_default_headers()  # type: ignore[misc]
        for name, value in HEADERS.items():
            self.set_header(name, value)  # type: ignore[attr-defined]

    def set_cookie(self, name: str, value: str | bytes, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("samesite", "Lax")
        if over_https(self.request):  # type: ignore[attr-defined]
            kwargs.setdefault("secure", True)
        super().set_cookie(name, value, *args, **kwargs)  # type: ignore[misc]
        if name == "user" and self.logins is not None:
            text = value.decode() if isinstance(value, bytes) else value
            if text:
                self.logins.logged_in(self, text)
            else:
                self.logins.logged_out(self)


@functools.cache
def hardened(handler_class: type[RequestHandler], logins: Any) -> type[RequestHandler]:
    if issubclass(handler_class, WebSocketHandler):
        return handler_class
    return type(handler_class.__name__, (Hardened, handler_class), {"logins": logins})


def wrap(delegate: Any, logins: Any) -> Any:
    """Swap the routed handler class of a Tornado handler delegate for its hardened subclass."""
    handler_class = getattr(delegate, "handler_class", None)
    if isinstance(handler_class, type) and issubclass(handler_class, RequestHandler):
        delegate.handler_class = hardened(handler_class, logins)
    return delegate
