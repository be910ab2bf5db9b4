"""A served session that follows the server's DataWatcher: "data as of" in the header, a banner for bad data.

The watcher (tspanel.reload) calls back on its own thread; Bokeh documents may only be
changed from their event loop, so :class:`LiveData` hands each event to the session's
document with ``add_next_tick_callback`` (Bokeh's thread-safe entry point) and applies it
there. The watcher holds it weakly and the document holds it strongly (through its
session-destroyed callback), so a closed tab's session is freed and never refreshed again.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import panel as pn
from panel.io.state import set_curdoc

from tspanel.ui.html import HTML
from tspanel.ui.text import esc

STATUS_CSS = """
.ts-freshness { font-size: 12px; opacity: .85; white-space: nowrap; }
"""
BANNER_CSS = """
.ts-reload-error { font-size: 14px; padding: 8px 12px; border-radius: 8px;
  background: rgba(237, 108, 2, .10); border: 1px solid rgba(237, 108, 2, .5); }
"""


def _when(value: dt.datetime | dt.date) -> str:
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    return value.isoformat()


def status_html(watcher: Any) -> str:
    """The header's line: the newest flag's time and when this data was loaded."""
    return (
        f'<span class="ts-freshness" data-as-of="{esc(_when(watcher.data_as_of))}">'
        f"data as of {esc(_when(watcher.data_as_of))} · loaded {watcher.loaded_at:%Y-%m-%d %H:%M:%S} UTC</span>"
    )


def banner_text(watcher: Any) -> str:
    """Why the newest files are not shown, and what is shown instead ('' when nothing was rejected)."""
    if watcher.error_reason is None:
        return ""
    # A directory by its name (not its absolute path); a database by its masked URL (never a password).
    where = watcher.path.name if watcher.label == str(watcher.path) else watcher.label
    return (
        f"New data in {where} could not be loaded: {watcher.error_reason}; "
        f"still showing data as of {_when(watcher.data_as_of)}."
    )


class LiveData:
    """One session's subscription to the watcher, and the header line and banner it keeps current."""

    def __init__(self, session: Any, watcher: Any, doc: Any) -> None:
        self.session, self.watcher, self.doc = session, watcher, doc
        self.status = HTML(status_html(watcher), stylesheets=[STATUS_CSS], margin=(0, 16), styles={"color": "white"})
        self.banner = HTML("", stylesheets=[BANNER_CSS], sizing_mode="stretch_width", margin=(4, 4), visible=False)
        self._show()
        page = session.page
        page.header = [*page.header, self.status]
        page.main = [self.banner, *page.main]
        self._unsubscribe = [watcher.subscribe(self.reloaded), watcher.on_error(self.rejected)]
        pn.state.on_session_destroyed(self.close)  # the document keeps this object alive until then

    # --- on the watcher's thread --------------------------------------------------------
    def reloaded(self, event: Any) -> None:
        self.doc.add_next_tick_callback(partial(self._apply, event.new))

    def rejected(self, _message: str) -> None:
        self.doc.add_next_tick_callback(self._in_doc)

    # --- on the session's event loop ---------------------------------------------------
    def _apply(self, dataset: Any) -> None:
        with set_curdoc(self.doc):
            self.session.on_reload(dataset)
            self._show()

    def _in_doc(self) -> None:
        with set_curdoc(self.doc):
            self._show()

    def _show(self) -> None:
        self.status.object = status_html(self.watcher)
        text = banner_text(self.watcher)
        if text:
            self.banner.object = f'<div class="ts-reload-error" role="alert">{esc(text)}</div>'
        self.banner.visible = bool(text)

    def close(self, session_context: Any) -> None:
        """The tab closed: stop following the watcher (Bokeh passes the context by this name)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
