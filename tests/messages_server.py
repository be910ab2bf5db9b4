"""A small real HTTP server on 127.0.0.1 that speaks the Anthropic Messages API.

The summary tests drive the real `anthropic` SDK over real HTTP against it, so
retries, timeouts, status codes and response parsing are the SDK's own. Replies
are scripted per test; every request is recorded so tests can count retries and
read what was sent.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP reply; `body` bytes are sent verbatim, anything else as JSON.

    `echo_credentials` makes a careless server: it appends the request's credentials
    to the error message, to prove that they still never reach the user. `hold` makes
    a slow server: the reply waits until the test sets the event (at most a minute).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    echo_credentials: bool = False
    hold: threading.Event | None = None


@dataclass(frozen=True)
class Recorded:
    """A request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


def tool_use(tool_input: dict[str, Any], *, name: str = "record_weekly_summary", **extra: Any) -> Reply:
    """A 200 Messages API response whose content is one tool_use block."""
    message = {
        "id": "msg_test_01",
        "type": "message",
        "role": "assistant",
        "model": extra.pop("model", "claude-test"),
        "content": [{"type": "tool_use", "id": "toolu_test_01", "name": name, "input": tool_input}],
        "stop_reason": extra.pop("stop_reason", "tool_use"),
        "stop_sequence": None,
        "usage": {"input_tokens": 1200, "output_tokens": 300},
    }
    message.update(extra)
    return Reply(200, message)


def text_reply(text: str, *, stop_reason: str = "end_turn") -> Reply:
    """A 200 response with a text block only (the model ignored the tool)."""
    return Reply(
        200,
        {
            "id": "msg_test_02",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": 1200, "output_tokens": 20},
        },
    )


def error(
    status: int,
    message: str = "error",
    *,
    headers: dict[str, str] | None = None,
    echo_credentials: bool = False,
    hold: threading.Event | None = None,
) -> Reply:
    """An error response shaped like the API's: {"type": "error", "error": {...}}."""
    body = {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message}}
    return Reply(status, body, headers=dict(headers or {}), echo_credentials=echo_credentials, hold=hold)


def _presented_keys(handler: BaseHTTPRequestHandler) -> set[str]:
    keys = {handler.headers.get("x-api-key") or ""}
    scheme, _, token = (handler.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer":
        keys.add(token)
    return keys - {""}


class MessagesServer:
    """Serves POST /v1/messages from a script of replies; the last reply repeats when the script runs out.

    When `api_key` is set, a request presenting any other key (as `x-api-key` or as
    `Authorization: Bearer`, which the SDK 2.x sends) gets the API's 401.
    `echo_credentials=True` makes that 401 quote the key it was given.
    Use as a context manager, or call start() and stop().
    """

    def __init__(self, *, api_key: str | None = None, echo_credentials: bool = False) -> None:
        self.api_key = api_key
        self.echo_credentials = echo_credentials
        self.requests: list[Recorded] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="messages-server", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script = list(replies)

    def start(self) -> MessagesServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MessagesServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_reply(self) -> Reply:
        with self._lock:
            if not self._script:
                return error(500, "the test server has no scripted reply")
            return self._script.pop(0) if len(self._script) > 1 else self._script[0]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        with self._lock:
            self.requests.append(
                Recorded(handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()}, body)
            )
        path = handler.path.split("?", 1)[0]
        if handler.command != "POST" or path != "/v1/messages":
            reply = error(404, f"no route {handler.command} {path}")
        elif self.api_key is not None and self.api_key not in _presented_keys(handler):
            reply = error(401, "invalid x-api-key", echo_credentials=self.echo_credentials)
        elif not isinstance(body, dict) or not {"model", "max_tokens", "messages"} <= body.keys():
            reply = error(400, "model, max_tokens and messages are required")
        else:
            reply = self._next_reply()
        if reply.delay and self._stopping.wait(reply.delay):
            return
        if reply.hold is not None:
            reply.hold.wait(60)
        body_out = reply.body
        if reply.echo_credentials and isinstance(body_out, dict) and "error" in body_out:
            echoed = " ".join(sorted(_presented_keys(handler)))
            body_out = {**body_out, "error": {**body_out["error"], "message": f"bad credentials: {echoed}"}}
        payload = body_out if isinstance(body_out, bytes) else json.dumps(body_out).encode()
        try:
            handler.send_response(reply.status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(payload)))
            handler.send_header("request-id", f"req_test_{len(self.requests)}")
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:  # the client gave up (timeout) and closed the socket
            pass

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                server._handle(self)

            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler
