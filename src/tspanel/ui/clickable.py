"""Server-rendered HTML whose rows (or ``[data-row]`` elements) can be clicked.

The HTML is built in Python with every data string escaped (tspanel.ui.text.esc), so
the browser only ever receives text; a click sends the row's number back. A plain
``<table>`` row counts by its position in ``<tbody>``; any element carrying a
``data-row`` attribute sends that value instead (the attention strip's items).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import param
from panel.custom import JSComponent


class ClickableHTML(JSComponent):
    """Escaped HTML (``object``) plus a row-click callback (``on_row``)."""

    object = param.String(default="", doc="HTML built by the server, data strings escaped")

    _esm = """
    export function render({ model, el }) {
      const draw = () => { el.innerHTML = model.object; };
      draw();
      model.on("object", draw);
      el.addEventListener("click", (ev) => {
        const tagged = ev.target.closest("[data-row]");
        if (tagged && el.contains(tagged)) {
          model.send_msg({row: Number(tagged.getAttribute("data-row"))});
          return;
        }
        const tr = ev.target.closest("tbody tr");
        if (tr && el.contains(tr)) {
          model.send_msg({row: Array.from(el.querySelectorAll("tbody tr")).indexOf(tr)});
        }
      });
    }
    """

    def __init__(self, object: str = "", **params: Any):
        super().__init__(object=object, **params)
        self._row_callbacks: list[Callable[[int], None]] = []

    def on_row(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(row)`` (0-based) whenever a row is clicked in the browser."""
        self._row_callbacks.append(callback)

    def click(self, row: int) -> None:
        """What a browser click does (also used by tests without a browser)."""
        for callback in self._row_callbacks:
            callback(row)

    def _handle_msg(self, msg: Any) -> None:
        row = msg.get("row") if isinstance(msg, dict) else None
        if isinstance(row, int) and row >= 0:
            self.click(row)
