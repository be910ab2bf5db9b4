"""The "needs attention" strip at the top of the page: tspanel.models.attention's items, one click each.

The items are computed by the domain model (off the event loop, with the refresh); this
view only lists them, escaped, and hands a clicked item's ``view`` query to the session,
which applies it as the URL and the back button do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from panel.viewable import Viewer

from tspanel.models.attention import AttentionItem
from tspanel.ui.clickable import ClickableHTML
from tspanel.ui.text import esc

NOTHING_TEXT = "Nothing needs attention"
CHECKING_TEXT = "Checking what needs attention…"
ATTENTION_CSS = """
.ts-attention { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin: 2px 4px; }
.ts-attention-head { font-size: 12px; text-transform: uppercase; letter-spacing: .08em; opacity: .6;
  margin-right: 4px; }
.ts-attention-item { font-size: 13px; padding: 4px 10px; border-radius: 14px; cursor: pointer; border: 1px solid;
  background: transparent; font-family: inherit; color: inherit; text-align: left; }
.ts-attention-item:hover { text-decoration: underline; }
.ts-attention-item[data-severity="critical"] { border-color: rgba(211, 47, 47, .6);
  background: rgba(211, 47, 47, .08); }
.ts-attention-item[data-severity="warning"] { border-color: rgba(237, 108, 2, .6); background: rgba(237, 108, 2, .07); }
.ts-attention-none { font-size: 13px; opacity: .7; }
"""


def attention_html(items: list[AttentionItem] | None) -> str:
    """The strip's HTML: one button-like element per item (data strings escaped), or the all-clear."""
    head = '<span class="ts-attention-head">Needs attention</span>'
    if items is None:
        return f'<div class="ts-attention">{head}<span class="ts-attention-none">{esc(CHECKING_TEXT)}</span></div>'
    if not items:
        return (
            f'<div class="ts-attention" data-count="0"><span class="ts-attention-none">{esc(NOTHING_TEXT)}</span></div>'
        )
    parts = [
        f'<button type="button" class="ts-attention-item" data-row="{i}" data-kind="{esc(item.kind)}" '
        f'data-severity="{esc(item.severity)}" title="Open the view that explains this">{esc(item.title)}</button>'
        for i, item in enumerate(items)
    ]
    return f'<div class="ts-attention" data-count="{len(items)}">{head}{"".join(parts)}</div>'


class AttentionStrip(Viewer):
    """The items of the current data and filters; a click calls ``open_view(item.view)``."""

    def __init__(self, open_view: Callable[[str], None], **params: Any):
        super().__init__(**params)
        self.items: list[AttentionItem] | None = None
        self._open_view = open_view
        self.pane = ClickableHTML(
            attention_html(None),
            stylesheets=[ATTENTION_CSS],
            sizing_mode="stretch_width",
            css_classes=["ts-attention-strip"],
            margin=(2, 4),
        )
        self.pane.on_row(self.open)

    def update(self, items: list[AttentionItem] | None) -> None:
        self.items = items
        self.pane.object = attention_html(items)

    def open(self, index: int) -> None:
        """The clicked item's view: its tab and filters, applied by the session."""
        if self.items is not None and 0 <= index < len(self.items) and self.items[index].view:
            self._open_view(self.items[index].view)

    def __panel__(self) -> Any:
        return self.pane
