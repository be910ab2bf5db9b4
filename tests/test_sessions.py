"""Server sessions end cleanly: closed sessions' Filters and Dashboards are garbage-collected.

A real Panel server runs in a thread on 127.0.0.1 with create_app; Bokeh's client opens
real websocket sessions (``pull_session``) and closes them. Weak references to every
session's DashboardSession, Filters and Dashboard must all die once the server has
discarded the sessions: nothing (caches, callbacks, Panel's state) keeps them alive.
"""

from __future__ import annotations

import gc
import socket
import time
import weakref
from pathlib import Path
from typing import Any

import pytest

from serving import free_port

CYCLES = 3


def test_closed_sessions_release_their_state(generated_small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import panel as pn
    from bokeh.client import pull_session

    from tspanel import app as app_module
    from tspanel.ui import session as session_module

    refs: list[weakref.ref[Any]] = []

    class Tracked(session_module.DashboardSession):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            refs.extend(weakref.ref(obj) for obj in (self, self.filters, self.dashboard))

    monkeypatch.setattr(session_module, "DashboardSession", Tracked)
    dataset = app_module.shared_dataset(generated_small)
    port = free_port()
    server = pn.serve(
        {"/": lambda: app_module.create_app(dataset)},
        port=port,
        address="127.0.0.1",
        websocket_origin=[f"127.0.0.1:{port}"],
        show=False,
        threaded=True,
        check_unused_sessions_milliseconds=200,
        unused_session_lifetime_milliseconds=200,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # the thread is listening once a connection succeeds
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the test server did not start")
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/"
        for _ in range(CYCLES):
            with pull_session(url=url) as client:
                assert client.document.roots  # the page arrived over the websocket
        assert len(refs) == 3 * CYCLES
        deadline = time.monotonic() + 10
        alive = refs
        while alive and time.monotonic() < deadline:
            time.sleep(0.3)
            gc.collect()
            alive = [r for r in refs if r() is not None]
        assert alive == [], f"{len(alive)} of {len(refs)} session objects outlived their sessions: " + ", ".join(
            sorted({type(r()).__name__ for r in alive})
        )
    finally:
        server.stop()
