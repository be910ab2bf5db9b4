"""The HTML pane every view uses: an update sends the browser its new text and nothing else."""

from __future__ import annotations

from typing import Any

import panel as pn


class HTML(pn.pane.HTML):
    """Panel's HTML pane, whose new ``object`` reaches the browser as a text change only.

    Panel's own pane re-sends every property with each new object, its stylesheets too. The
    first time in a session those arrive as new stylesheet models (Panel keys its per-document
    cache on paths that differ between the page's first render and later callbacks), so each
    pane's first update made the browser lay out the whole page again (~0.1 s per pane) and
    the server re-walk the page's models. Other properties (visibility, stylesheets, classes)
    still sync through Panel's usual path.
    """

    def _update(self, ref: str, model: Any) -> None:
        model.update(text=self._get_properties(model.document)["text"])
