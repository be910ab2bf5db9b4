"""A tiny real HTTP server on 127.0.0.1 that receives apprise's JSON webhooks (json://).

Every POST is recorded (path, headers, parsed JSON); the reply status is set per test
(``receiver.status = 500`` makes a failing destination).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class WebhookReceiver:
    def __init__(self) -> None:
        self.status = 200
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.status
                if status < 300:  # a failing service took nothing in
                    with receiver._lock:
                        receiver.received.append(Received(self.path, dict(self.headers), json.loads(raw)))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if status < 300 else b'{"error": "boom"}')

            def log_message(self, *_: Any) -> None:  # keep test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "hook", *, user: str = "", password: str = "") -> str:
        auth = f"{user}:{password}@" if user or password else ""
        return f"json://{auth}127.0.0.1:{self.port}/{path}"

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.body for r in self.received]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
